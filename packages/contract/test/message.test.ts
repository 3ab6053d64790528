import t from 'tap'
import { decodeMessage, encodeMessage, MessageDecodeError, type Reading } from '../src/index.ts'

const readings: Reading[] = [
  { labId: 1, recordedAtMs: 1764111600000, temperatureMilliC: 21500, humidityMilliPct: 45200 },
  { labId: 2147483647, recordedAtMs: 0, temperatureMilliC: -60000, humidityMilliPct: 0 }
]

t.test('a v1 message round-trips', async (t) => {
  const body = encodeMessage('abc', 1764111600123, readings)
  t.equal(body, '{"v":1,"id":"abc","sentAtMs":1764111600123,"readings":[[1,1764111600000,21500,45200],[2147483647,0,-60000,0]]}')
  t.same(decodeMessage(body), { v: 1, id: 'abc', sentAtMs: 1764111600123, readings })
})

t.test('anything else is refused with MessageDecodeError', async (t) => {
  const bad = [
    'not json', '[]', 'null', '{"v":2,"id":"a","sentAtMs":1,"readings":[]}', '{"v":1,"sentAtMs":1,"readings":[]}',
    '{"v":1,"id":"a","sentAtMs":1,"readings":{}}', '{"v":1,"id":"a","sentAtMs":1,"readings":[[1,2,3]]}',
    '{"v":1,"id":"a","sentAtMs":1,"readings":[[0,2,3,4]]}', '{"v":1,"id":"a","sentAtMs":1,"readings":[[1,2,90000,4]]}',
    '{"v":1,"id":"a","sentAtMs":1,"readings":[[1,2,3,100001]]}', '{"v":1,"id":"a","sentAtMs":1,"readings":[[1,2.5,3,4]]}'
  ]
  for (const body of bad) t.throws(() => decodeMessage(body), MessageDecodeError, body)
})
