#!/usr/bin/env bash
# Deploys EdgeQuant.Pi to a Raspberry Pi (64-bit Raspberry Pi OS): publishes for linux-arm64,
# stages the app, the model and a systemd unit, copies them to PI_HOST and (re)starts the service.
#
#   deploy.sh PI_HOST --model M.eqm [--aot] [--dry-run] [--run "camera --led-pin 17"]
#             [--published DIR] [--model-only] [--stage DIR]
#
#   --aot          NativeAOT binary (clang + lld + gcc-aarch64-linux-gnu on this machine); no .NET
#                  runtime on the Pi. Its camera command has no V4L2 capture (see docs/raspberry-pi.md);
#                  the default self-contained JIT build has it.
#   --dry-run      everything but the copy: publish, stage, write the unit, print the commands.
#   --model M.eqm  the model to install as /opt/edgequant/model.eqm (required).
#   --run ARGS     the command line the service runs, --model is added (default "camera").
#   --published D  use an already published app directory instead of publishing again.
#   --model-only   copy the model and restart the service (update the model without rebuilding).
#   --stage D      staging directory (default: a temporary one).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
host="" aot=0 dry=0 model="" run="camera" published="" modelonly=0 stage=""
while [ $# -gt 0 ]; do
  case "$1" in
    --aot) aot=1 ;;
    --dry-run) dry=1 ;;
    --model) model="$2"; shift ;;
    --run) run="$2"; shift ;;
    --published) published="$2"; shift ;;
    --model-only) modelonly=1 ;;
    --stage) stage="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "deploy.sh: unknown option $1" >&2; exit 1 ;;
    *) [ -z "$host" ] || { echo "deploy.sh: more than one host ($host, $1)" >&2; exit 1; }; host="$1" ;;
  esac
  shift
done
[ -n "$host" ] || { echo "usage: deploy.sh PI_HOST --model M.eqm [--aot] [--dry-run] [--run ARGS] [--published DIR] [--model-only]" >&2; exit 1; }

[ -n "$model" ] || { echo "deploy.sh: --model M.eqm is required (convert it with edgequant convert ... --pixels MEAN,STD for a camera model)" >&2; exit 1; }
[ -f "$model" ] || { echo "deploy.sh: model $model does not exist" >&2; exit 1; }
# The blob must load: a bad model is refused here, not on the Pi.
head -c 4 "$model" | grep -q "EQMB" || { echo "deploy.sh: $model is not an .eqm blob (no EQMB magic)" >&2; exit 1; }

[ -n "$stage" ] || stage="$(mktemp -d)"
mkdir -p "$stage/app"
dest=/opt/edgequant
svc=edgequant-pi

if [ "$modelonly" = 0 ]; then
  if [ -n "$published" ]; then
    [ -x "$published/EdgeQuant.Pi" ] || { echo "deploy.sh: $published/EdgeQuant.Pi not found" >&2; exit 1; }
    cp -a "$published/." "$stage/app/"
  elif [ "$aot" = 1 ]; then
    dotnet publish "$here/EdgeQuant.Pi/EdgeQuant.Pi.csproj" -c Release -r linux-arm64 \
      -p:PublishAot=true -p:LinkerFlavor=lld -o "$stage/app" >&2
  else
    dotnet publish "$here/EdgeQuant.Pi/EdgeQuant.Pi.csproj" -c Release -r linux-arm64 --self-contained -o "$stage/app" >&2
  fi
  rm -f "$stage/app/"*.pdb "$stage/app/"*.dbg "$stage/app/"*.xml
  cat > "$stage/$svc.service" <<UNIT
[Unit]
Description=EdgeQuant.Pi ($run)
After=network.target

[Service]
ExecStart=$dest/EdgeQuant.Pi $run --model $dest/model.eqm
WorkingDirectory=$dest
StandardOutput=append:/var/log/edgequant-pi.jsonl
StandardError=journal
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
fi
cp "$model" "$stage/model.eqm"

if [ "$modelonly" = 1 ]; then
  cmds=(
    "scp $stage/model.eqm $host:/tmp/edgequant-model.eqm"
    "ssh $host sudo install -m 644 /tmp/edgequant-model.eqm $dest/model.eqm && ssh $host sudo systemctl restart $svc"
  )
else
  cmds=(
    "rsync -a --delete $stage/ $host:/tmp/edgequant-stage/"
    "ssh $host sudo mkdir -p $dest && ssh $host sudo rsync -a /tmp/edgequant-stage/app/ $dest/ && ssh $host sudo install -m 644 /tmp/edgequant-stage/model.eqm $dest/model.eqm"
    "ssh $host sudo install -m 644 /tmp/edgequant-stage/$svc.service /etc/systemd/system/$svc.service && ssh $host sudo systemctl daemon-reload && ssh $host sudo systemctl enable --now $svc && ssh $host sudo systemctl restart $svc"
  )
fi

echo "staged in $stage:"
(cd "$stage" && find . -maxdepth 2 -type f | sort | sed 's/^/  /')
for c in "${cmds[@]}"; do
  if [ "$dry" = 1 ]; then echo "would run: $c"; else echo "+ $c"; bash -c "$c"; fi
done
