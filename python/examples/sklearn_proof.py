# %% [markdown]
# # Prove a scikit-learn prediction with zkonnx
#
# Train a small model, export it to ONNX, prove what it predicts for one input, verify the proof,
# and write a Solidity verifier that checks the same proof on-chain. Runs as a script
# (`python sklearn_proof.py`) or as a notebook (jupytext reads the `# %%` cells).

# %%
import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType

import zkonnx

iris = load_iris()
x = iris.data.astype(np.float32)
clf = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, iris.target)
onnx_model = to_onnx(clf, initial_types=[("X", FloatTensorType([1, 4]))], options={"zipmap": False},
                     target_opset={"": 17, "ai.onnx.ml": 3})

# %% [markdown]
# Calibrate on a few rows, compile, and make the keys (the artifacts land in `artifacts/`).
# Without `srs_path` zkonnx uses its INSECURE development SRS: fine here, never in production.

# %%
model = zkonnx.Model(onnx_model.SerializeToString())
prover = model.setup("artifacts", samples=[x[i:i + 1] for i in range(0, 150, 25)])

# %% [markdown]
# Prove one prediction; the proof carries the outputs as public values.

# %%
flower = x[100:101]
proof = prover.prove(flower)
label, probabilities = proof.outputs
print("predicted class", int(label[0]), "probabilities", probabilities.round(3), "sklearn:", clf.predict(flower))

# %%
verified = zkonnx.Verifier.from_artifacts("artifacts").verify(proof)
print("verified:", verified)

# %% [markdown]
# The EVM verifier: `verifier.sol` (the source) and `verifier.json` (bytecode to deploy, e.g.
# with `zkonnx deploy-evm`); `proof.calldata` is what a contract passes to it. zkonnx refuses a
# verifier against its development SRS unless asked: this example asks, as a test would.

# %%
proof.write("artifacts/proof.json")
zkonnx.create_evm_verifier("artifacts/vk.key", "artifacts/settings.json", "artifacts/verifier.sol",
                           "artifacts/verifier.json", allow_insecure_srs=True)
print("EVM verdict:", zkonnx.verify_evm(proof_path="artifacts/proof.json", bytecode_path="artifacts/verifier.json"),
      f"({len(proof.calldata)} bytes of calldata)")
