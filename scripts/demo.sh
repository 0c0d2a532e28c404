#!/usr/bin/env bash
# mofn's main job on embedded defaults: a 2-of-3 testnet wallet end to end in a fresh MOFN_HOME.
# Nothing touches the network: the spent coin comes from a made-up funding transaction.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MOFN_HOME="$work/home" MOFN_PASSWORD='demo password, never use for real funds'
mofn() { node packages/cli/bin/mofn.js "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. three cosigners create keystores (each would do this on their own machine)"
for who in alice bob carol; do
  mofn key new --keystore "$work/$who.json" --network test >/dev/null 2>&1
  echo "$who: $(mofn key xpub --keystore "$work/$who.json")"
done

step "2. the coordinator creates the 2-of-3 P2WSH wallet from their xpubs"
mofn wallet create family --threshold 2 --network test \
  --key "$(mofn key xpub --keystore "$work/alice.json")" \
  --key "$(mofn key xpub --keystore "$work/bob.json")" \
  --key "$(mofn key xpub --keystore "$work/carol.json")"

step "3. receive addresses, and verifying one"
mofn address family --count 3
addr=$(mofn address family --index 2 --json | node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(0,'utf8'))[0].address)")
mofn address verify family "$addr"

step "4. a spend of a 100,000-sat coin: 40,000 to an outside address, change back to the wallet"
# A made-up funding transaction stands in for the coin; a real one comes from your node or explorer.
read -r txid prevtx < <(node --import tsx scripts/demo-funding.ts "$addr" 100000 test)
mofn psbt create family --utxo "$txid:0:100000:$prevtx" --to tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx:40000 --fee-rate 5 > "$work/spend.psbt"
mofn psbt inspect "$work/spend.psbt"

step "5. alice and bob sign their own copies"
mofn psbt sign "$work/spend.psbt" --keystore "$work/alice.json" --out "$work/alice.psbt"
mofn psbt sign "$work/spend.psbt" --keystore "$work/bob.json" --out "$work/bob.psbt"

step "6. combine and finalize: the raw transaction, ready to broadcast"
mofn psbt combine "$work/alice.psbt" "$work/bob.psbt" --out "$work/both.psbt"
mofn psbt inspect "$work/both.psbt"
mofn psbt finalize "$work/both.psbt"
