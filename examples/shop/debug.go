package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow"
)

// The debug panel shows what the shop holds for this browser: the JWT of
// the guest (from the sealed session cookie) or of the signed-in customer,
// its header and claims decoded and pretty-printed, the raw token, the
// guest tag, the expiry and the cart as the store keeps it. The tokens are
// decoded for display only; a resource server verifies them first
// (shadow.Verifier).
type debugPanel struct {
	Who       string // "guest" or "customer"
	Token     *decodedJWT
	TokenName string // which token is shown
	Actor     string // act.sub: the service account that impersonates the guest
	ActorName string
	Tag       []tagLine // the guest tag and other metadata, decoded
	// FormerGuest is the guest id this account was upgraded from; equal to
	// Token.Subject when registration kept the user id.
	FormerGuest string
	// MergedGuest is the guest whose cart moved into this account at
	// sign-in (deleted since).
	MergedGuest string
	CartJSON    string
}

type tagLine struct{ Key, Value string }

// decodedJWT is a compact JWS split into its parts, for display.
type decodedJWT struct {
	Raw     string
	Header  string // pretty JSON
	Claims  string // pretty JSON
	Subject string
	Expiry  time.Time
	claims  map[string]any
}

// decodeJWT splits raw without verifying it; nil when raw is not a JWS
// with JSON header and claims.
func decodeJWT(raw string) *decodedJWT {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil
	}
	header, err1 := prettySegment(parts[0], nil)
	var claims map[string]any
	pretty, err2 := prettySegment(parts[1], &claims)
	if err1 != nil || err2 != nil {
		return nil
	}
	d := &decodedJWT{Raw: raw, Header: header, Claims: pretty, claims: claims}
	d.Subject, _ = claims["sub"].(string)
	if exp, ok := claims["exp"].(float64); ok {
		d.Expiry = time.Unix(int64(exp), 0)
	}
	return d
}

func prettySegment(seg string, into *map[string]any) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return "", err
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return "", err
		}
	}
	return out.String(), nil
}

func (s *shop) debugPanel(r *http.Request, cart shadow.Cart) *debugPanel {
	if cu := s.currentCustomer(r); cu != nil {
		p := &debugPanel{Who: "customer", TokenName: "access token from the sign-in (authorization code + PKCE)",
			FormerGuest: cu.FormerGuestID, MergedGuest: cu.MergedGuestID, CartJSON: cartJSON(cu.UserID, cart)}
		p.Token = decodeJWT(cu.AccessToken)
		if p.Token == nil {
			p.Token, p.TokenName = decodeJWT(cu.IDToken), "ID token from the sign-in"
		}
		if p.Token == nil {
			return nil
		}
		return p
	}
	sess, ok := shadow.SessionFromContext(r.Context())
	if !ok {
		return nil
	}
	p := &debugPanel{Who: "guest", TokenName: "guest access token (RFC 8693 token exchange, impersonation)",
		Token: decodeJWT(sess.Token.AccessToken), CartJSON: cartJSON(sess.GuestID, cart)}
	if p.Token == nil {
		return nil
	}
	if act, ok := p.Token.claims["act"].(map[string]any); ok {
		p.Actor, _ = act["sub"].(string)
		if s.demo != nil && p.Actor == s.actor {
			p.ActorName = s.demo.fake.ServiceAccount().Username
		}
	}
	if md, ok := p.Token.claims["urn:zitadel:iam:user:metadata"].(map[string]any); ok {
		for k, v := range md {
			str, _ := v.(string)
			if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(str, "=")); err == nil {
				str = string(b)
			}
			p.Tag = append(p.Tag, tagLine{Key: k, Value: str})
		}
		sort.Slice(p.Tag, func(i, j int) bool { return p.Tag[i].Key < p.Tag[j].Key })
	}
	return p
}
