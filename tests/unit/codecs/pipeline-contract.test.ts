import { registerCodecContract } from '../../contracts/codec-contract.js'
import { jsonSerializer } from '../../../src/codecs/json-serializer.js'
import { msgpackSerializer } from '../../../src/codecs/msgpack-serializer.js'
import { CodecPipeline } from '../../../src/codecs/pipeline.js'

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
