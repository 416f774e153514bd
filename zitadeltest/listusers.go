package zitadeltest

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// ListUsers (zitadel-wire.md §4.4).

// textMethod is a text comparison in the order of the v2 enums
// TextQueryMethod and TextFilterMethod.
type textMethod int32

const (
	textEquals textMethod = iota
	textEqualsIgnoreCase
	textStartsWith
	textStartsWithIgnoreCase
	textContains
	textContainsIgnoreCase
	textEndsWith
	textEndsWithIgnoreCase
)

// textOp maps a v2 enum value onto its comparison.
func textOp[E ~int32](m E) textMethod { return textMethod(m) }

// buggyKeyFilterOp is ZITADEL's numeric cast of metadataKeyFilter.method
// onto its internal TextComparison, whose order is Equals,
// EqualsIgnoreCase, StartsWith, StartsWithIgnoreCase, EndsWith,
// EndsWithIgnoreCase, Contains, ContainsIgnoreCase.
func buggyKeyFilterOp(m zitadel.TextFilterMethod) textMethod {
	switch textMethod(m) {
	case textContains:
		return textEndsWith
	case textContainsIgnoreCase:
		return textEndsWithIgnoreCase
	case textEndsWith:
		return textContains
	case textEndsWithIgnoreCase:
		return textContainsIgnoreCase
	}
	return textMethod(m)
}

func matchText(value, query string, m textMethod) bool {
	switch m {
	case textEqualsIgnoreCase, textStartsWithIgnoreCase, textContainsIgnoreCase, textEndsWithIgnoreCase:
		value, query = strings.ToLower(value), strings.ToLower(query)
	}
	switch m {
	case textEquals, textEqualsIgnoreCase:
		return value == query
	case textStartsWith, textStartsWithIgnoreCase:
		return strings.HasPrefix(value, query)
	case textContains, textContainsIgnoreCase:
		return strings.Contains(value, query)
	case textEndsWith, textEndsWithIgnoreCase:
		return strings.HasSuffix(value, query)
	}
	return false
}

// maxQueryLevel is the deepest nesting of and/or/not ZITADEL accepts.
const maxQueryLevel = 20

// checkQueries converts-checks a query list as userQueriesToQuery does:
// each query must set one member and sit at most 20 levels deep.
func checkQueries(qs []zitadel.SearchQuery, level int) *apiError {
	for i := range qs {
		q := &qs[i]
		if level > maxQueryLevel {
			return errTooManyNestingLevels()
		}
		var err *apiError
		switch {
		case q.OrQuery != nil:
			err = checkQueries(q.OrQuery.Queries, level+1)
		case q.AndQuery != nil:
			err = checkQueries(q.AndQuery.Queries, level+1)
		case q.NotQuery != nil:
			if q.NotQuery.Query == nil {
				if level+1 > maxQueryLevel {
					return errTooManyNestingLevels()
				}
				return errQueryInvalid()
			}
			err = checkQueries([]zitadel.SearchQuery{*q.NotQuery.Query}, level+1)
		case searchQueryMembers(q) == 0:
			err = errQueryInvalid()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// tri is SQL's three-valued logic: metadata filters on a user without
// metadata compare against NULL.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triNull
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (a tri) and(b tri) tri {
	switch {
	case a == triFalse || b == triFalse:
		return triFalse
	case a == triNull || b == triNull:
		return triNull
	}
	return triTrue
}

func (a tri) or(b tri) tri {
	switch {
	case a == triTrue || b == triTrue:
		return triTrue
	case a == triNull || b == triNull:
		return triNull
	}
	return triFalse
}

func (a tri) not() tri {
	switch a {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triNull
}

// metaRow is one row of the users ⟕ user_metadata join; nil is the NULL row
// of a user without metadata.
type metaRow struct {
	key   string
	value []byte
}

// userFilter evaluates queries for one user and one joined metadata row.
type userFilter struct {
	u                  *user
	row                *metaRow
	correctKeyFilterOp bool
}

func (f userFilter) all(qs []zitadel.SearchQuery) tri {
	r := triTrue
	for i := range qs {
		r = r.and(f.eval(&qs[i]))
	}
	return r
}

func (f userFilter) eval(q *zitadel.SearchQuery) tri {
	u := f.u
	switch {
	case q.UserNameQuery != nil:
		return triOf(matchText(u.username, q.UserNameQuery.UserName, textOp(q.UserNameQuery.Method)))
	case q.FirstNameQuery != nil:
		return triOf(matchText(u.givenName, q.FirstNameQuery.FirstName, textOp(q.FirstNameQuery.Method)))
	case q.LastNameQuery != nil:
		return triOf(matchText(u.familyName, q.LastNameQuery.LastName, textOp(q.LastNameQuery.Method)))
	case q.NickNameQuery != nil:
		return triOf(matchText(u.nickName, q.NickNameQuery.NickName, textOp(q.NickNameQuery.Method)))
	case q.DisplayNameQuery != nil:
		return triOf(matchText(u.displayName, q.DisplayNameQuery.DisplayName, textOp(q.DisplayNameQuery.Method)))
	case q.EmailQuery != nil:
		return triOf(matchText(u.email, q.EmailQuery.EmailAddress, textOp(q.EmailQuery.Method)))
	case q.PhoneQuery != nil:
		return triOf(matchText(u.phone, q.PhoneQuery.Number, textOp(q.PhoneQuery.Method)))
	case q.LoginNameQuery != nil:
		return triOf(slices.ContainsFunc(u.loginNames(), func(n string) bool {
			return matchText(n, q.LoginNameQuery.LoginName, textOp(q.LoginNameQuery.Method))
		}))
	case q.StateQuery != nil:
		return triOf(u.state == q.StateQuery.State)
	case q.TypeQuery != nil:
		return triOf(u.wireType() == q.TypeQuery.Type)
	case q.InUserIDsQuery != nil:
		return triOf(slices.Contains(q.InUserIDsQuery.UserIDs, u.id))
	case q.InUserEmailsQuery != nil:
		return triOf(u.email != "" && slices.Contains(q.InUserEmailsQuery.UserEmails, u.email))
	case q.OrganizationIDQuery != nil:
		return triOf(u.orgID == q.OrganizationIDQuery.OrganizationID)
	case q.MetadataKeyFilter != nil:
		if f.row == nil {
			return triNull
		}
		op := buggyKeyFilterOp(q.MetadataKeyFilter.Method)
		if f.correctKeyFilterOp {
			op = textOp(q.MetadataKeyFilter.Method)
		}
		return triOf(matchText(f.row.key, q.MetadataKeyFilter.Key, op))
	case q.MetadataValueFilter != nil:
		if f.row == nil {
			return triNull
		}
		eq := bytes.Equal(f.row.value, q.MetadataValueFilter.Value)
		if q.MetadataValueFilter.Method == zitadel.ByteFilterNotEquals {
			return triOf(!eq)
		}
		return triOf(eq)
	case q.AndQuery != nil:
		return f.all(q.AndQuery.Queries)
	case q.OrQuery != nil:
		r := triFalse
		for i := range q.OrQuery.Queries {
			r = r.or(f.eval(&q.OrQuery.Queries[i]))
		}
		return r
	case q.NotQuery != nil:
		return f.eval(q.NotQuery.Query).not()
	}
	return triFalse
}

func (u *user) wireType() zitadel.UserType {
	if u.machine {
		return zitadel.UserTypeMachine
	}
	return zitadel.UserTypeHuman
}

// matches reports whether some joined row of u satisfies all queries, the
// DISTINCT over the users ⟕ user_metadata join.
func (u *user) matches(qs []zitadel.SearchQuery, correctKeyFilterOp bool) bool {
	if len(u.metadata) == 0 {
		return userFilter{u: u, correctKeyFilterOp: correctKeyFilterOp}.all(qs) == triTrue
	}
	for k, e := range u.metadata {
		row := &metaRow{key: k, value: e.value}
		if (userFilter{u: u, row: row, correctKeyFilterOp: correctKeyFilterOp}).all(qs) == triTrue {
			return true
		}
	}
	return false
}

// listUsers is ListUsers: the caller's readable users matching all queries,
// sorted by the column (user id when unspecified), descending unless asc;
// limit 0 means no limit.
func listUsers(s *Server, caller *user, req *zitadel.ListUsersRequest) (*zitadel.ListUsersResponse, *apiError) {
	st := s.st
	if aerr := checkQueries(req.Queries, 0); aerr != nil {
		return nil, aerr
	}
	var q zitadel.ListQuery
	if req.Query != nil {
		q = *req.Query
	}
	var found []*user
	for _, u := range st.users {
		if mayRead(caller, u) && u.matches(req.Queries, s.cfg.correctMetadataKeyFilter) {
			found = append(found, u)
		}
	}
	slices.SortFunc(found, func(a, b *user) int {
		c := cmp.Or(compareBy(req.SortingColumn, a, b), cmp.Compare(a.id, b.id))
		if !q.Asc {
			c = -c
		}
		return c
	})
	resp := &zitadel.ListUsersResponse{Details: &zitadel.ListDetails{
		TotalResult:       zitadel.Uint64(len(found)),
		ProcessedSequence: zitadel.Uint64(st.events),
		Timestamp:         zitadel.TimestampOf(st.now()),
	}}
	for _, u := range page(found, uint64(q.Offset), uint64(q.Limit)) {
		resp.Result = append(resp.Result, u.wire())
	}
	return resp, nil
}

func compareBy(col zitadel.UserFieldName, a, b *user) int {
	switch col {
	case zitadel.UserFieldUserName:
		return cmp.Compare(a.username, b.username)
	case zitadel.UserFieldFirstName:
		return cmp.Compare(a.givenName, b.givenName)
	case zitadel.UserFieldLastName:
		return cmp.Compare(a.familyName, b.familyName)
	case zitadel.UserFieldNickName:
		return cmp.Compare(a.nickName, b.nickName)
	case zitadel.UserFieldDisplayName:
		return cmp.Compare(a.displayName, b.displayName)
	case zitadel.UserFieldEmail:
		return cmp.Compare(a.email, b.email)
	case zitadel.UserFieldState:
		return cmp.Compare(a.state, b.state)
	case zitadel.UserFieldType:
		return cmp.Compare(a.wireType(), b.wireType())
	case zitadel.UserFieldCreationDate:
		return a.created.Compare(b.created)
	}
	return 0 // unspecified: by user id, the tie-breaker
}
