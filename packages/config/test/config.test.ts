import t from 'tap'
import { readEnv } from '../src/index.ts'

t.test('blank values count as unset', async (t) => {
  const read = readEnv({ A: '  ', B: ' 7 ' })
  t.equal(read.string('A', { default: 'd' }), 'd')
  t.equal(read.int('B', { default: 1, min: 0, max: 9 }), 7)
  t.doesNotThrow(() => read.done())
})
