"""The Python side of the load/save benchmark: onnx.load + onnx.save of one file, timed, once per
line read from stdin ("go"), printing milliseconds. Started once so import costs are not timed."""
import sys
import time

import onnx

src, dst = sys.argv[1], sys.argv[2]
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    start = time.perf_counter()
    model = onnx.load(src)
    onnx.save(model, dst)
    print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)
