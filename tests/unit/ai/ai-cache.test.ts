import { InMemoryCache } from '../../../src/index.js'
import { registerAICacheContract } from '../../contracts/ai-cache-contract.js'

registerAICacheContract('InMemoryCache', {
  make: async ({ namespace, clock }) => new InMemoryCache({ namespace, clock }),
})
