#!/usr/bin/env bash
# Publishes the runtime-only sample app self-contained and TRIMMED (the ILLink analysis the
# NativeAOT publish of a Raspberry Pi app also needs), fails on any trim warning, then runs it on
# the zoo's MNIST model. (NativeAOT itself cannot be published here: the mirror has no
# Microsoft.NETCore.App.Runtime.NativeAOT pack.)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
dotnet publish boards/samples/EdgeQuant.Samples.Classify -c Release -r linux-x64 --self-contained \
  -p:PublishTrimmed=true -p:TrimmerSingleWarn=false -p:TreatWarningsAsErrors=true -o "$out/app" > "$out/publish.log" 2>&1 \
  || { tail -30 "$out/publish.log"; exit 1; }
if grep -E "warning IL[0-9]+" "$out/publish.log"; then echo "trim warnings"; exit 1; fi
dotnet converter/EdgeQuant.Cli/bin/Release/net10.0/edgequant.dll convert tests/zoo/mnist_cnn.onnx \
  --calib tests/zoo/mnist_cnn.calib.npy -o "$out/mnist.eqm" > /dev/null
"$out/app/EdgeQuant.Samples.Classify" "$out/mnist.eqm" tests/zoo/mnist_cnn.test.npy tests/zoo/mnist_cnn.test_labels.npy | tee "$out/run.log"
grep -q "top-1 accuracy 98" "$out/run.log"
echo "PASS trimmed self-contained publish of the runtime ($(du -sh "$out/app" | cut -f1))"
rm -rf "$out"
