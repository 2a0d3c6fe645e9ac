import { registerCodecContract } from '../../contracts/codec-contract.js'
import { jsonSerializer } from '../../../src/codecs/json-serializer.js'
import { msgpackSerializer } from '../../../src/codecs/msgpack-serializer.js'
import { CodecPipeline } from '../../../src/codecs/pipeline.js'
import { AesGcmCipher } from '../../../src/codecs/aes-gcm-cipher.js'
import { KeyRing } from '../../../src/security/key-ring.js'

const maxValueBytes = 4 * 1024 * 1024

registerCodecContract(
  'msgpack, no compression',
  () => new CodecPipeline({ serializer: msgpackSerializer, compression: false, maxValueBytes }),
)

registerCodecContract(
  'msgpack + deflate (threshold 1 KiB)',
  () =>
    new CodecPipeline({
      serializer: msgpackSerializer,
      compression: { thresholdBytes: 1024, level: 1 },
      maxValueBytes,
    }),
)

registerCodecContract(
  'json, no compression',
  () => new CodecPipeline({ serializer: jsonSerializer, compression: false, maxValueBytes }),
  { typedValues: false },
)

// Keys 2 and 3, writing with 3: an entry always carries a key id other than 0 or 1.
const keyRing = new KeyRing(new Map([[2, Buffer.alloc(32, 2)], [3, Buffer.alloc(32, 3)]]), 3)

registerCodecContract(
  'msgpack + deflate + aes-256-gcm',
  () =>
    new CodecPipeline({
      serializer: msgpackSerializer,
      compression: { thresholdBytes: 1024, level: 1 },
      maxValueBytes,
      cipher: new AesGcmCipher(keyRing),
    }),
  { typedValues: true, encrypted: true },
)
