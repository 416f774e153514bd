package shadow

import (
	"context"
	"strings"
	"time"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// The guest tag is a metadata entry on the ZITADEL user: by default the key
// GUEST_CREATED_AT with the RFC 3339 UTC creation time as its value; with
// WithDailyTags the official demo's GUEST_YY_MM_DD keys. Both are always
// recognized, so apps can migrate from the demo.

// dailyTagPrefix starts every daily tag key, and the default key.
const dailyTagPrefix = "GUEST_"

// tag returns the metadata entry that marks a guest created at t.
func (m *Manager) tag(t time.Time) zitadel.Metadata {
	t = t.UTC()
	key := m.cfg.tagKey
	if m.cfg.dailyTags {
		key = dailyTagPrefix + t.Format("06_01_02")
	}
	return zitadel.Metadata{Key: key, Value: []byte(t.Format(time.RFC3339))}
}

// isDailyTagKey reports whether key has the demo's form GUEST_YY_MM_DD.
func isDailyTagKey(key string) bool {
	_, ok := dailyTagDate(key)
	return ok
}

func dailyTagDate(key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, dailyTagPrefix)
	if !ok || len(rest) != 8 {
		return time.Time{}, false
	}
	t, err := time.Parse("06_01_02", rest)
	return t, err == nil
}

// isTagKey reports whether key is a guest tag this Manager recognizes.
func (m *Manager) isTagKey(key string) bool { return key == m.cfg.tagKey || isDailyTagKey(key) }

// tagTime is the creation time a tag records: its RFC 3339 value, else
// (the demo's constant "created") the day in a daily key.
func tagTime(key string, value []byte) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, string(value)); err == nil {
		return t, true
	}
	return dailyTagDate(key)
}

// guestTag is a guest tag found on a user.
type guestTag struct {
	Key     string
	Created time.Time // zero when the value is unreadable
}

// guestTags reads the user's guest tags with ListUserMetadata (a read,
// retried). A user with no tag, or no longer existing, gives none. listed
// reports whether the user still has a metadata key that Sweep's
// ListUsers filter matches (a guest tag, or another key starting with
// "GUEST_"), that is whether the user stays in the sweep's listing.
func (m *Manager) guestTags(ctx context.Context, userID string) (tags []guestTag, listed bool, err error) {
	req := zitadel.ListUserMetadataRequest{UserID: userID, Pagination: &zitadel.PaginationRequest{Limit: 1000, Asc: true}}
	if strings.HasPrefix(m.cfg.tagKey, dailyTagPrefix) {
		req.Filters = []zitadel.MetadataSearchFilter{{KeyFilter: &zitadel.MetadataKeyFilter{
			Key: dailyTagPrefix, Method: zitadel.TextFilterStartsWith}}}
	}
	var resp zitadel.ListUserMetadataResponse
	if err := m.call(zitadel.Idempotent(ctx), zitadel.MethodListUserMetadata, req, &resp); err != nil {
		return nil, false, err
	}
	for _, e := range resp.Metadata {
		if strings.HasPrefix(e.Key, dailyTagPrefix) || e.Key == m.cfg.tagKey {
			listed = true
		}
		if m.isTagKey(e.Key) {
			t, _ := tagTime(e.Key, e.Value)
			tags = append(tags, guestTag{Key: e.Key, Created: t})
		}
	}
	return tags, listed, nil
}
