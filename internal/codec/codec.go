// Package codec encrypts Temporal payloads with AES-256-GCM, so order data —
// payment tokens, customer IDs — never reaches Temporal's history in clear.
//
// Every payload is encrypted with the current key and tagged with its key
// ID; decoding picks the key by that ID, so keys rotate by adding a new
// current key and keeping the old ones for the payloads they wrote.
// Decoding refuses payloads without the tag (plaintext) unless the keyring
// allows them, for histories written before encryption was turned on: AES-GCM
// authenticates what it decrypts, so with plaintext refused, only holders of
// a key can write a payload the workers accept.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// Encoding marks an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key a payload was encrypted with.
	MetadataKeyID = "encryption-key-id"
)

// refInfo is the HKDF context of the keys that make customer references:
// a key derived for this one use, never the data key itself.
const refInfo = "ordersaga customer reference v1"

// ErrPlaintext is the error of decoding a payload that is not encrypted
// when the keyring does not allow plaintext.
var ErrPlaintext = errors.New("payload is not encrypted")

// Keyring holds the encryption keys by ID, which one encrypts, and whether
// unencrypted payloads are accepted.
type Keyring struct {
	// AllowPlaintext makes Decode pass payloads that are not encrypted
	// through unchanged (histories written before encryption was turned
	// on); without it Decode refuses them with ErrPlaintext. Set it before
	// the keyring is used.
	AllowPlaintext bool

	current string
	aeads   map[string]cipher.AEAD
	refKeys map[string][]byte
}

// ParseKeys parses "id:base64key,id:base64key" (32-byte keys, AES-256) and
// makes currentID the key that encrypts; empty currentID takes the first.
func ParseKeys(spec, currentID string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}, refKeys: map[string][]byte{}}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("codec key without an id: want id:base64key") // the part may be a bare key: never print it
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("codec key %q: %w", id, err)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("codec key %q: want 32 bytes (AES-256), got %d", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("codec key %q given twice", id)
		}
		refKey, err := hkdf.Key(sha256.New, key, nil, refInfo, sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("codec key %q: %w", id, err)
		}
		k.aeads[id], k.refKeys[id] = aead, refKey
		if k.current == "" {
			k.current = id
		}
	}
	if len(k.aeads) == 0 {
		return nil, errors.New("no codec keys given")
	}
	if currentID != "" {
		if _, ok := k.aeads[currentID]; !ok {
			return nil, fmt.Errorf("current codec key %q is not among the keys", currentID)
		}
		k.current = currentID
	}
	return k, nil
}

// CurrentID is the ID of the key that encrypts.
func (k *Keyring) CurrentID() string { return k.current }

// Codec is the converter.PayloadCodec of a keyring.
type Codec struct{ keys *Keyring }

var _ converter.PayloadCodec = Codec{}

// New returns the payload codec of keys.
func New(keys *Keyring) Codec { return Codec{keys: keys} }

// Encode implements converter.PayloadCodec.
func (c Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.keys.aeads[c.keys.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		nonce := make([]byte, aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.keys.current),
			},
			Data: aead.Seal(nonce, nonce, plain, nil),
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec. It fails on an unknown key ID,
// a payload that does not authenticate, and a payload that is not encrypted
// (ErrPlaintext) unless the keyring allows plaintext.
func (c Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != Encoding {
			if !c.keys.AllowPlaintext {
				return nil, fmt.Errorf("codec: %w (encoding %q); plaintext is accepted only with --codec-allow-plaintext, while histories from before encryption are migrated", ErrPlaintext, enc)
			}
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.keys.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted with unknown key %q", id)
		}
		n := aead.NonceSize()
		if len(p.GetData()) < n {
			return nil, errors.New("codec: encrypted payload too short")
		}
		plain, err := aead.Open(nil, p.Data[:n], p.Data[n:], nil)
		if err != nil {
			return nil, fmt.Errorf("codec: decrypt with key %q: %w", id, err)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &dec
	}
	return out, nil
}

// Ref returns a stable, keyed reference to a sensitive value (a customer
// ID) for search attributes, which are not encrypted: HMAC-SHA256, truncated,
// keyed with a key derived from the current data key by HKDF-SHA256 (info
// "ordersaga customer reference v1"), so the data key is used for nothing
// but encryption. Rotating the current key changes the references of new
// sagas.
func (k *Keyring) Ref(value string) string { return ref(k.refKeys[k.current], value) }

// Refs returns value's references under every key of the keyring: Ref's
// first, then the other keys' by key ID. Sagas started before a rotation
// carry an older key's reference, so a search for value matches any of
// them.
func (k *Keyring) Refs(value string) []string {
	ids := slices.Sorted(maps.Keys(k.refKeys))
	refs := []string{k.Ref(value)}
	for _, id := range ids {
		if id != k.current {
			refs = append(refs, ref(k.refKeys[id], value))
		}
	}
	return refs
}

func ref(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return "ref:" + hex.EncodeToString(m.Sum(nil)[:12])
}
