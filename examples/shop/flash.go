package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// A flash is a one-time message shown on the next page after a redirect
// (Post/Redirect/Get). Only the server writes it: it travels in a cookie
// signed with a key of this process, never in the URL, so a link cannot
// put words in the shop's mouth.
type flash struct {
	Kind string `json:"k"` // "ok" or "error"
	Text string `json:"t"`
}

type flasher struct {
	key    []byte
	secure bool
}

const flashCookie = "shop_flash"

func newFlasher(secure bool) *flasher {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return &flasher{key: key, secure: secure}
}

func (f *flasher) name() string {
	if f.secure {
		return "__Host-" + flashCookie
	}
	return flashCookie
}

func (f *flasher) sign(payload string) string {
	mac := hmac.New(sha256.New, f.key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Set stores a message for the next page the browser loads.
func (f *flasher) Set(w http.ResponseWriter, kind, text string) {
	b, _ := json.Marshal(flash{Kind: kind, Text: text})
	payload := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: f.name(), Value: payload + "." + f.sign(payload), Path: "/",
		MaxAge: 60, HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode})
}

// Take returns the pending message, if one with a valid signature exists,
// and clears it.
func (f *flasher) Take(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(f.name())
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: f.name(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: f.secure,
		SameSite: http.SameSiteLaxMode})
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(f.sign(payload))) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var m flash
	if json.Unmarshal(b, &m) != nil || m.Text == "" || (m.Kind != "ok" && m.Kind != "error") {
		return nil
	}
	return &m
}
