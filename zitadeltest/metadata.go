package zitadeltest

import (
	"cmp"
	"slices"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// User metadata (docs/zitadel.md §4.10).

// Pagination of ListUserMetadata (filter/v2 PaginationPbToQuery defaults).
const (
	metadataDefaultLimit = 100
	metadataMaxLimit     = 1000
)

// metadataTarget applies the checks Set and DeleteUserMetadata share, in
// ZITADEL's order: an empty list (n entries) fails before the user is looked
// up, an unknown user is a failed precondition, then the caller needs
// user.write on the user's organization.
func metadataTarget(st *state, caller *user, userID string, n int) (*user, *apiError) {
	if n == 0 {
		return nil, errMetadataNoData()
	}
	u := st.users[userID]
	if u == nil {
		return nil, errUserNotFound(zitadel.CodeFailedPrecondition, idMetadataUserNotFound)
	}
	if aerr := checkPermission(caller, permUserWrite, u.orgID); aerr != nil {
		return nil, aerr
	}
	return u, nil
}

// setUserMetadata is SetUserMetadata: an empty list fails before the user
// is looked up; an empty value deletes the key (v4.13+).
func setUserMetadata(s *Server, caller *user, req *zitadel.SetUserMetadataRequest) (*zitadel.SetUserMetadataResponse, *apiError) {
	st := s.st
	u, aerr := metadataTarget(st, caller, req.UserID, len(req.Metadata))
	if aerr != nil {
		return nil, aerr
	}
	for _, m := range req.Metadata {
		if m.Key == "" {
			return nil, errMetadataInvalid()
		}
	}
	if u.applyMetadata(req.Metadata, st.now()) {
		st.touch(u)
	}
	return &zitadel.SetUserMetadataResponse{SetDate: zitadel.TimestampOf(u.changed)}, nil
}

// deleteUserMetadata is DeleteUserMetadata: any absent key fails the whole
// call and nothing is deleted.
func deleteUserMetadata(s *Server, caller *user, req *zitadel.DeleteUserMetadataRequest) (*zitadel.DeleteUserMetadataResponse, *apiError) {
	st := s.st
	u, aerr := metadataTarget(st, caller, req.UserID, len(req.Keys))
	if aerr != nil {
		return nil, aerr
	}
	for _, k := range req.Keys {
		if u.meta(k) == nil {
			return nil, errMetadataKeyNotExisting()
		}
	}
	for _, k := range req.Keys {
		u.deleteMetadata(k)
	}
	st.touch(u)
	return &zitadel.DeleteUserMetadataResponse{DeletionDate: zitadel.TimestampOf(u.changed)}, nil
}

// listUserMetadata is ListUserMetadata: sorted by creation date (descending
// unless asc), key filters mapped correctly, an unknown user lists nothing.
func listUserMetadata(s *Server, caller *user, req *zitadel.ListUserMetadataRequest) (*zitadel.ListUserMetadataResponse, *apiError) {
	var p zitadel.PaginationRequest
	if req.Pagination != nil {
		p = *req.Pagination
	}
	limit := uint64(p.Limit)
	switch {
	case limit == 0:
		limit = metadataDefaultLimit
	case limit > metadataMaxLimit:
		return nil, errLimitExceeded()
	}
	resp := &zitadel.ListUserMetadataResponse{Pagination: &zitadel.PaginationResponse{AppliedLimit: zitadel.Uint64(limit)}}
	u := s.st.users[req.UserID]
	if u == nil {
		return resp, nil
	}
	if caller.id != u.id {
		if aerr := checkPermission(caller, permUserRead, u.orgID); aerr != nil {
			return nil, aerr
		}
	}
	var entries []*metadataEntry
	for i := range u.metadata {
		if e := &u.metadata[i]; metadataFiltersMatch(req.Filters, e.key) {
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b *metadataEntry) int {
		c := cmp.Or(a.created.Compare(b.created), cmp.Compare(a.seq, b.seq))
		if !p.Asc {
			c = -c
		}
		return c
	})
	resp.Pagination.TotalResult = zitadel.Uint64(len(entries))
	for _, e := range page(entries, uint64(p.Offset), limit) {
		resp.Metadata = append(resp.Metadata, zitadel.MetadataEntry{
			CreationDate: zitadel.TimestampOf(e.created), ChangeDate: zitadel.TimestampOf(e.changed),
			Key: e.key, Value: slices.Clone(e.value),
		})
	}
	return resp, nil
}

func metadataFiltersMatch(filters []zitadel.MetadataSearchFilter, key string) bool {
	for _, f := range filters {
		if f.KeyFilter != nil && !matchText(key, f.KeyFilter.Key, textOp(f.KeyFilter.Method)) {
			return false
		}
	}
	return true
}

// page returns the items from offset, at most limit of them (0: all).
func page[T any](items []T, offset, limit uint64) []T {
	if offset >= uint64(len(items)) {
		return nil
	}
	items = items[offset:]
	if limit > 0 && limit < uint64(len(items)) {
		items = items[:limit]
	}
	return items
}
