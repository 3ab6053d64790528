import t from 'tap'
import { isOutOfRangeReason, parseHumidity, parseTemperature } from '../src/index.ts'

t.test('temperatures in every accepted form become m°C', async (t) => {
  const cases: Array<[unknown, number]> = [
    [21.5, 21500], ['21.5', 21500], ['21.5°C', 21500], ['21.5 C', 21500], ['21.5 °c', 21500],
    ['70.7°F', 21500], ['70.7 F', 21500], ['294.65K', 21500], ['294.65 K', 21500],
    ['21.5℃', 21500], ['70.7℉', 21500], ['21.5ºC', 21500], ['-18°C', -18000], ['-0.4°F', -18000],
    [0, 0], ['-0.0001', 0], [' 22 ', 22000], ['2.15e1 C', 21500], [21.4567, 21457]
  ]
  for (const [input, milli] of cases) t.same(parseTemperature(input), { ok: true, value: milli }, JSON.stringify(input))
})

t.test('temperatures that are not numbers or outside a lab\'s range are refused with a reason', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['abc', /not a number with an optional unit/], ['21.5°', /degree sign but no unit/], ['21.5 X', /not a number/],
    ['NaN', /not a number/], ['Infinity', /not a number/], ['1e400', /not a finite/], [null, /must be a number/],
    [true, /must be a number/], [{}, /an object/], [[21], /an array/], ['', /not a number/],
    [81, /outside the allowed range/], ['-61 C', /outside the allowed range/], ['200 °F', /93\.33 °C, outside/], ['0K', /outside/]
  ]
  for (const [input, reason] of cases) {
    const result = parseTemperature(input)
    t.equal(result.ok, false, JSON.stringify(input))
    if (!result.ok) {
      t.match(result.reason, reason)
      t.equal(isOutOfRangeReason(result.reason), /outside/.test(String(reason)), `${JSON.stringify(input)}: out of range or unreadable`)
    }
  }
})

t.test('humidity as a number or percent string; 0 to 100 %RH', async (t) => {
  const good: Array<[unknown, number]> = [[45.2, 45200], ['45%', 45000], ['45 %', 45000], ['45%RH', 45000], ['45 %rh', 45000], ['0', 0], [100, 100000]]
  for (const [input, milli] of good) t.same(parseHumidity(input), { ok: true, value: milli }, JSON.stringify(input))
  for (const bad of [-0.1, 100.01, '101%', 'wet', '45 RH%', null, '4 5%']) t.equal(parseHumidity(bad).ok, false, JSON.stringify(bad))
})
