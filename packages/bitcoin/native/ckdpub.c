/*
 * ckdpub: BIP-32 public child derivation (CKDpub, non-hardened indexes) for runs of consecutive
 * indexes of one parent, as an optional Node-API addon for packages/bitcoin/src/keys/nativeDerive.ts.
 *
 * Why it exists: address derivation (benchmark W1) is ~30,000 CKDpub per 10,000 2-of-3 addresses.
 * libsecp256k1's ec_pubkey_tweak_add runs a general double-scalar multiplication and the per-call
 * JS overhead (HMAC in JS, argument checks, one N-API call per child) dominates; here HMAC-SHA512
 * uses precomputed key midstates, t*G uses a fixed-base signed-digit comb (24 windows of 11 bits,
 * at most 24 mixed additions, no doublings) and a whole run of children shares one field inversion.
 *
 * Field and group arithmetic come from the libsecp256k1 sources shipped in the `secp256k1` npm
 * package (node_modules/secp256k1/src/secp256k1), included at build time by scripts/build-native.mjs.
 *
 * Everything here is public data (an xpub's children are public), so the code is deliberately
 * variable-time. It must never be given private scalars.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <node_api.h>

/* libsecp256k1 configuration (normally from its binding.gyp): portable C only, no inline asm
 * (measured: the asm field code was slower for this workload), 64-bit limbs where __int128 exists. */
#define USE_NUM_NONE 1
#define USE_FIELD_INV_BUILTIN 1
#define USE_SCALAR_INV_BUILTIN 1
#if defined(__SIZEOF_INT128__)
#define HAVE___INT128 1
#define USE_FIELD_5X52 1
#define USE_SCALAR_4X64 1
#else
#define USE_FIELD_10X26 1
#define USE_SCALAR_8X32 1
#endif

#include "include/secp256k1.h"
#include "util.h"
#include "num_impl.h"
#include "field_impl.h"
#include "scalar_impl.h"
#include "group_impl.h"
#include "sha512.h"

/* Bumped whenever the JS-visible contract changes, so a stale build is refused by the loader. */
#define CKDPUB_ABI 2

#define COMB_W 11
#define HALF (1 << (COMB_W - 1))
#define WINDOWS ((257 + COMB_W - 1) / COMB_W)

/* Parent state as an opaque byte string the JS side keeps: the parent point in storage form
 * (64), the HMAC-SHA512 inner and outer midstates (128) and serP(K_par) (33). Plain bytes rather
 * than a native pointer, so a wrong or stale buffer can give a wrong key (caught by the checks on
 * the JS side) but never touch memory it does not own. */
#define STATE_BYTES (64 + 128 + 33)
typedef char state_layout_check[sizeof(secp256k1_ge_storage) == 64 ? 1 : -1];

/* table[j * HALF + m - 1] = m * 2^(COMB_W * j) * G, m = 1..HALF, built once per process. */
static secp256k1_ge_storage *table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
  secp256k1_ge_storage *t = malloc(sizeof(secp256k1_ge_storage) * WINDOWS * HALF);
  secp256k1_gej *mult = malloc(sizeof(secp256k1_gej) * HALF);
  secp256k1_ge *aff = malloc(sizeof(secp256k1_ge) * HALF);
  if (t == NULL || mult == NULL || aff == NULL) {
    free(t); free(mult); free(aff);
    return; /* table stays NULL: module init reports the failure */
  }
  secp256k1_gej base;
  secp256k1_gej_set_ge(&base, &secp256k1_ge_const_g);
  for (int j = 0; j < WINDOWS; j++) {
    secp256k1_ge bge;
    secp256k1_gej tmp = base;
    secp256k1_ge_set_gej(&bge, &tmp);
    secp256k1_gej_set_ge(&mult[0], &bge);
    for (int m = 1; m < HALF; m++) secp256k1_gej_add_ge_var(&mult[m], &mult[m - 1], &bge, NULL);
    secp256k1_ge_set_all_gej_var(aff, mult, HALF);
    for (int m = 0; m < HALF; m++) secp256k1_ge_to_storage(&t[j * HALF + m], &aff[m]);
    /* next base: 2^COMB_W * B = 2 * (HALF * B) */
    secp256k1_gej_double_var(&base, &mult[HALF - 1], NULL);
  }
  free(mult); free(aff);
  table = t;
}

/* r = P + t*G for a 32-byte big-endian t already checked < n. Signed digits in (-HALF, HALF]:
 * the top window of a value < 2^256 is at most 7 plus a carry, so it never overflows. */
static void comb_add(secp256k1_gej *r, const secp256k1_ge *P, const unsigned char *t) {
  uint64_t limb[5];
  for (int i = 0; i < 4; i++) limb[i] = be64(t + 24 - 8 * i);
  limb[4] = 0;
  secp256k1_gej_set_ge(r, P);
  int carry = 0;
  for (int j = 0; j < WINDOWS; j++) {
    int bit = j * COMB_W, li = bit >> 6, sh = bit & 63;
    uint64_t v = limb[li] >> sh;
    if (sh + COMB_W > 64 && li < 4) v |= limb[li + 1] << (64 - sh);
    int d = (int)(v & ((1u << COMB_W) - 1)) + carry;
    if (d > HALF) { d -= (1 << COMB_W); carry = 1; } else carry = 0;
    if (d == 0) continue;
    secp256k1_ge g;
    secp256k1_ge_from_storage(&g, &table[j * HALF + (d > 0 ? d : -d) - 1]);
    if (d < 0) secp256k1_ge_neg(&g, &g);
    /* handles the doubling (r == g) and cancelling (r == -g) cases */
    secp256k1_gej_add_ge_var(r, r, &g, NULL);
  }
}

static int parse33(secp256k1_ge *P, const unsigned char *in) {
  secp256k1_fe x;
  if (in[0] != 2 && in[0] != 3) return 0;
  if (!secp256k1_fe_set_b32(&x, in + 1)) return 0;
  return secp256k1_ge_set_xo_var(P, &x, in[0] == 3);
}

static int below_order(const unsigned char *t) {
  secp256k1_scalar s;
  int overflow = 0;
  secp256k1_scalar_set_b32(&s, t, &overflow);
  return !overflow;
}

static void put_words(unsigned char *p, const uint64_t *w, int n) { for (int i = 0; i < n; i++) put64(p + 8 * i, w[i]); }
static void get_words(uint64_t *w, const unsigned char *p, int n) { for (int i = 0; i < n; i++) w[i] = be64(p + 8 * i); }

/* Returns the bytes of a Uint8Array argument, or NULL with a pending TypeError. */
static unsigned char *bytes_arg(napi_env env, napi_value v, size_t *len) {
  napi_typedarray_type type;
  size_t n;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &n, &data, &ab, &off) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "ckdpub: expected a Uint8Array");
    return NULL;
  }
  *len = n;
  /* A zero-length view may have a NULL data pointer; callers check lengths before reading. */
  return data != NULL ? data : (unsigned char *)"";
}

static int uint32_arg(napi_env env, napi_value v, uint32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    napi_throw_type_error(env, NULL, "ckdpub: expected an integer in 0..2^32-1");
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

/* prepare(pub33, chain32, state225) -> boolean: false if pub33 is not a compressed point. */
static napi_value Prepare(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], res;
  size_t l0, l1, l2;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "ckdpub.prepare: expected 3 arguments");
    return NULL;
  }
  unsigned char *pub = bytes_arg(env, argv[0], &l0); if (pub == NULL) return NULL;
  unsigned char *cc = bytes_arg(env, argv[1], &l1); if (cc == NULL) return NULL;
  unsigned char *state = bytes_arg(env, argv[2], &l2); if (state == NULL) return NULL;
  if (l0 != 33 || l1 != 32 || l2 != STATE_BYTES) {
    napi_throw_range_error(env, NULL, "ckdpub.prepare: expected 33, 32 and 225 bytes");
    return NULL;
  }
  secp256k1_ge P;
  int ok = parse33(&P, pub);
  if (ok) {
    secp256k1_ge_storage s;
    hmac512_key key;
    secp256k1_ge_to_storage(&s, &P);
    memcpy(state, &s, 64);
    hmac512_init(&key, cc, 32);
    put_words(state + 64, key.inner, 8);
    put_words(state + 128, key.outer, 8);
    memcpy(state + 192, pub, 33);
  }
  napi_get_boolean(env, ok, &res);
  return res;
}

/*
 * derive(state225, start, count, keysOut, chainCodesOut) -> undefined
 * Child start + k goes to keysOut[33k..] (compressed) and chainCodesOut[32k..]. A key whose first
 * byte is 0x00 is a child BIP-32 calls invalid (I_L >= n, or the point at infinity); 0x01 means the
 * result failed its on-curve self-check and must be recomputed by the caller's reference backend.
 */
static napi_value Derive(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  size_t l0, l3, l4;
  uint32_t start, count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, "ckdpub.derive: expected 5 arguments");
    return NULL;
  }
  unsigned char *state = bytes_arg(env, argv[0], &l0); if (state == NULL) return NULL;
  if (!uint32_arg(env, argv[1], &start) || !uint32_arg(env, argv[2], &count)) return NULL;
  unsigned char *keys = bytes_arg(env, argv[3], &l3); if (keys == NULL) return NULL;
  unsigned char *codes = bytes_arg(env, argv[4], &l4); if (codes == NULL) return NULL;
  if (l0 != STATE_BYTES || count == 0 || count > 4096 || (uint64_t)start + count > 0x80000000ULL ||
      l3 < (size_t)count * 33 || l4 < (size_t)count * 32) {
    napi_throw_range_error(env, NULL, "ckdpub.derive: bad state length, index range or output size");
    return NULL;
  }
  secp256k1_ge P;
  secp256k1_ge_storage s;
  hmac512_key key;
  memcpy(&s, state, 64);
  secp256k1_ge_from_storage(&P, &s);
  get_words(key.inner, state + 64, 8);
  get_words(key.outer, state + 128, 8);
  secp256k1_gej *rj = malloc(sizeof(secp256k1_gej) * count);
  secp256k1_ge *ra = malloc(sizeof(secp256k1_ge) * count);
  if (rj == NULL || ra == NULL) {
    free(rj); free(ra);
    napi_throw_error(env, NULL, "ckdpub.derive: out of memory");
    return NULL;
  }
  unsigned char msg[37], I[64];
  memcpy(msg, state + 192, 33);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t i = start + k;
    msg[33] = (unsigned char)(i >> 24); msg[34] = (unsigned char)(i >> 16);
    msg[35] = (unsigned char)(i >> 8); msg[36] = (unsigned char)i;
    hmac512_short(&key, msg, 37, I);
    memcpy(codes + 32 * k, I + 32, 32);
    if (!below_order(I)) { secp256k1_gej_set_infinity(&rj[k]); continue; }
    comb_add(&rj[k], &P, I);
  }
  secp256k1_ge_set_all_gej_var(ra, rj, count);
  for (uint32_t k = 0; k < count; k++) {
    unsigned char *out = keys + 33 * k;
    if (rj[k].infinity) { memset(out, 0, 33); continue; }
    secp256k1_ge *g = &ra[k];
    secp256k1_fe_normalize_var(&g->x);
    secp256k1_fe_normalize_var(&g->y);
    if (!secp256k1_ge_is_valid_var(g)) { memset(out, 0, 33); out[0] = 1; continue; }
    out[0] = secp256k1_fe_is_odd(&g->y) ? 3 : 2;
    secp256k1_fe_get_b32(out + 1, &g->x);
  }
  free(rj); free(ra);
  return NULL;
}

/* tweakAdd(pub33, tweak32, out33) -> undefined: out = P + t*G compressed, or out[0] = 0x00 when
 * t >= n or the sum is infinity (BIP-32's invalid child). The comb alone, for edge-case tests. */
static napi_value TweakAdd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  size_t l0, l1, l2;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "ckdpub.tweakAdd: expected 3 arguments");
    return NULL;
  }
  unsigned char *pub = bytes_arg(env, argv[0], &l0); if (pub == NULL) return NULL;
  unsigned char *tw = bytes_arg(env, argv[1], &l1); if (tw == NULL) return NULL;
  unsigned char *out = bytes_arg(env, argv[2], &l2); if (out == NULL) return NULL;
  secp256k1_ge P;
  if (l0 != 33 || l1 != 32 || l2 != 33 || !parse33(&P, pub)) {
    napi_throw_range_error(env, NULL, "ckdpub.tweakAdd: expected a 33-byte point, a 32-byte tweak and 33 output bytes");
    return NULL;
  }
  memset(out, 0, 33);
  if (!below_order(tw)) return NULL;
  secp256k1_gej r;
  comb_add(&r, &P, tw);
  if (r.infinity) return NULL;
  secp256k1_ge g;
  secp256k1_ge_set_gej_var(&g, &r);
  secp256k1_fe_normalize_var(&g.x);
  secp256k1_fe_normalize_var(&g.y);
  if (!secp256k1_ge_is_valid_var(&g)) { out[0] = 1; return NULL; }
  out[0] = secp256k1_fe_is_odd(&g.y) ? 3 : 2;
  secp256k1_fe_get_b32(out + 1, &g.x);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f, n;
  pthread_once(&table_once, build_table);
  if (table == NULL) {
    napi_throw_error(env, NULL, "ckdpub: out of memory building the comb table");
    return NULL;
  }
  napi_create_function(env, "prepare", NAPI_AUTO_LENGTH, Prepare, NULL, &f);
  napi_set_named_property(env, exports, "prepare", f);
  napi_create_function(env, "derive", NAPI_AUTO_LENGTH, Derive, NULL, &f);
  napi_set_named_property(env, exports, "derive", f);
  napi_create_function(env, "tweakAdd", NAPI_AUTO_LENGTH, TweakAdd, NULL, &f);
  napi_set_named_property(env, exports, "tweakAdd", f);
  napi_create_uint32(env, CKDPUB_ABI, &n);
  napi_set_named_property(env, exports, "abi", n);
  napi_create_uint32(env, STATE_BYTES, &n);
  napi_set_named_property(env, exports, "stateBytes", n);
  return exports;
}
