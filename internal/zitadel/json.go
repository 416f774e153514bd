// Package zitadel holds ZITADEL's wire format as the SDK and the fake
// server both speak it: the protojson messages of the v2 user service,
// the Connect and gateway error bodies, the OAuth token-endpoint messages,
// and the client that sends them. It follows docs/zitadel.md.
//
// The JSON helpers in this file reproduce protojson's mapping where Go's
// encoding/json differs: 64-bit integers as strings, bytes as lenient
// base64, timestamps as RFC 3339 with 0, 3, 6 or 9 fractional digits, and
// enums as names (numbers accepted on input).
package zitadel

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Uint64 is a protobuf uint64: a JSON string on output, a string or a
// number on input.
type Uint64 uint64

// MarshalJSON writes the value as a decimal string.
func (u Uint64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(u), 10) + `"`), nil
}

// UnmarshalJSON accepts "123" and 123.
func (u *Uint64) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	s = strings.Trim(s, `"`)
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid uint64 %s", b)
	}
	*u = Uint64(v)
	return nil
}

// Bytes is a protobuf bytes field: standard base64 with padding on output;
// standard or URL-safe, padded or not, on input.
type Bytes []byte

// MarshalJSON writes standard padded base64.
func (b Bytes) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON accepts the four base64 alphabets protojson accepts.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("bytes field must be a base64 string")
	}
	v, err := DecodeBase64(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// DecodeBase64 decodes standard or URL-safe base64, padded or not.
func DecodeBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	v, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64 value: %w", err)
	}
	return v, nil
}

// Timestamp is a google.protobuf.Timestamp: RFC 3339 in UTC with 0, 3, 6
// or 9 fractional digits, as protojson writes it.
type Timestamp struct{ time.Time }

// TimestampOf wraps t; the zero time stays zero (and is omitted with omitzero).
func TimestampOf(t time.Time) Timestamp { return Timestamp{t} }

// MarshalJSON writes protojson's timestamp form.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	u := t.UTC()
	layout := "2006-01-02T15:04:05"
	switch ns := u.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		layout += ".000"
	case ns%1e3 == 0:
		layout += ".000000"
	default:
		layout += ".000000000"
	}
	return []byte(`"` + u.Format(layout) + `Z"`), nil
}

// UnmarshalJSON parses an RFC 3339 string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be an RFC 3339 string")
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("invalid timestamp %q", s)
	}
	t.Time = v
	return nil
}

// enum implements protojson's enum mapping for a table of names indexed by
// number: names on output, names or numbers on input.
type enum []string

func (e enum) marshal(v int32) ([]byte, error) {
	if v >= 0 && int(v) < len(e) {
		return []byte(`"` + e[v] + `"`), nil
	}
	return []byte(strconv.Itoa(int(v))), nil
}

func (e enum) unmarshal(b []byte) (int32, error) {
	var name string
	if err := json.Unmarshal(b, &name); err == nil {
		for i, n := range e {
			if n == name {
				return int32(i), nil
			}
		}
		return 0, fmt.Errorf("invalid value for enum field: %q", name)
	}
	var n int32
	if err := json.Unmarshal(b, &n); err != nil {
		return 0, fmt.Errorf("invalid value for enum field: %s", b)
	}
	return n, nil
}

func (e enum) name(v int32) string {
	if v >= 0 && int(v) < len(e) {
		return e[v]
	}
	return strconv.Itoa(int(v))
}

// Defined reports whether v is one of the enum's declared values.
func (e enum) defined(v int32) bool { return v >= 0 && int(v) < len(e) }
