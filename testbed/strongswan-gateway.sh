#!/bin/sh
# A gateway for `scripts/bench-baseline --gateway-cmd`: strongSwan (kernel-libipsec) configured
# only from the DUALSEC_TB_* environment the bench passes. It shows the contract a dualsec
# gateway command follows, and checks the plumbing:
#   scripts/bench-baseline --gateway-cmd testbed/strongswan-gateway.sh
# Runs inside the gw namespace; the testbed kills everything in the namespace afterwards.
set -eu
D="$DUALSEC_TB_DIR/strongswan-gateway"
mkdir -p "$D"
cat > "$D/strongswan.conf" <<EOC
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac md5 kdf gmp pem pkcs1 x509 pubkey curve25519 gcm kernel-libipsec kernel-netlink socket-default vici
  plugins { vici { socket = unix://$D/charon.vici } }
  filelog { log { path = $D/charon.log
    default = 1
    flush_line = yes } }
}
EOC
cat > "$D/swanctl.conf" <<EOC
connections { tunnel1 { version = 2
  mobike = no
  local_addrs = $DUALSEC_TB_IP1
  remote_addrs = $DUALSEC_TB_PEER
  proposals = $DUALSEC_TB_IKE_PROPOSAL
  local { auth = psk
    id = $DUALSEC_TB_IP1 }
  remote { auth = psk
    id = $DUALSEC_TB_PEER }
  children { net1 { local_ts = $DUALSEC_TB_LOCAL_TS
    remote_ts = $DUALSEC_TB_REMOTE_TS
    esp_proposals = $DUALSEC_TB_ESP_PROPOSAL } } } }
secrets { ike-tunnel1 { id-a = $DUALSEC_TB_IP1
  id-b = $DUALSEC_TB_PEER
  secret = "$DUALSEC_TB_PSK" } }
EOC
mount -t tmpfs tmpfs /run
STRONGSWAN_CONF="$D/strongswan.conf" /usr/lib/ipsec/charon &
i=0
until swanctl --stats --uri "unix://$D/charon.vici" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 100 ] || { echo "charon did not start" >&2; exit 1; }
  sleep 0.1
done
swanctl --load-all --noprompt --file "$D/swanctl.conf" --uri "unix://$D/charon.vici" >/dev/null
echo "gateway ready"
wait
