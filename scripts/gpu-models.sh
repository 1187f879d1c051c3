# The models scripts/gpu-check.sh proves on CPU and GPU: name -> "model input [run flags]" (sourced).
# Every fixture model, and cnn_large at 4 lanes, which puts it at logrows 20.
declare -A GPU_MODELS=(
  [mlp]="fixtures/mlp/model.onnx fixtures/mlp/input.json"
  [lenet]="fixtures/lenet/model.onnx fixtures/lenet/input.json"
  [digits_cnn]="fixtures/digits_cnn/model.onnx fixtures/digits_cnn/input.json"
  [mlp784]="benches/models/mlp784/model.onnx benches/models/mlp784/input.json"
  [lenet5]="benches/models/lenet5/model.onnx benches/models/lenet5/input.json"
  [cnn_large_k20]="benches/models/cnn_large/model.onnx benches/models/cnn_large/input.json --lanes 4"
)
for onnx in fixtures/tiny/*.onnx; do
  name=$(basename "$onnx" .onnx)
  GPU_MODELS[tiny_$name]="$onnx fixtures/tiny/$name.input.json"
done
# whose GPU proofs are also checked by the Solidity verifier
EVM_MODELS=(mlp digits_cnn)
