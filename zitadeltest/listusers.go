package zitadeltest

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/shadowaccounts/shadow/internal/zitadel"
)

// ListUsers (docs/zitadel.md §4.4).

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

// pred evaluates a query for a user and one joined metadata row; a nil row
// is the NULL row of a user without metadata.
type pred func(u *user, row *metadataEntry) tri

// compileAll compiles the AND of queries once per request, so that the scan
// over the users does not walk the query oneofs again for every user.
func compileAll(qs []zitadel.SearchQuery, correctKeyFilterOp bool) pred {
	ps := make([]pred, len(qs))
	for i := range qs {
		ps[i] = compile(&qs[i], correctKeyFilterOp)
	}
	return func(u *user, row *metadataEntry) tri {
		r := triTrue
		for _, p := range ps {
			if r = r.and(p(u, row)); r == triFalse {
				return r
			}
		}
		return r
	}
}

// text compiles a text query on the field field returns.
func text[E ~int32](field func(*user) string, query string, method E) pred {
	m := textOp(method)
	return func(u *user, _ *metadataEntry) tri { return triOf(matchText(field(u), query, m)) }
}

func compile(q *zitadel.SearchQuery, correctKeyFilterOp bool) pred {
	switch {
	case q.UserNameQuery != nil:
		return text(func(u *user) string { return u.username }, q.UserNameQuery.UserName, q.UserNameQuery.Method)
	case q.FirstNameQuery != nil:
		return text(func(u *user) string { return u.givenName }, q.FirstNameQuery.FirstName, q.FirstNameQuery.Method)
	case q.LastNameQuery != nil:
		return text(func(u *user) string { return u.familyName }, q.LastNameQuery.LastName, q.LastNameQuery.Method)
	case q.NickNameQuery != nil:
		return text(func(u *user) string { return u.nickName }, q.NickNameQuery.NickName, q.NickNameQuery.Method)
	case q.DisplayNameQuery != nil:
		return text(func(u *user) string { return u.displayName }, q.DisplayNameQuery.DisplayName, q.DisplayNameQuery.Method)
	case q.EmailQuery != nil:
		return text(func(u *user) string { return u.email }, q.EmailQuery.EmailAddress, q.EmailQuery.Method)
	case q.PhoneQuery != nil:
		return text(func(u *user) string { return u.phone }, q.PhoneQuery.Number, q.PhoneQuery.Method)
	case q.LoginNameQuery != nil:
		name, m := q.LoginNameQuery.LoginName, textOp(q.LoginNameQuery.Method)
		return func(u *user, _ *metadataEntry) tri {
			return triOf(slices.ContainsFunc(u.loginNames(), func(n string) bool { return matchText(n, name, m) }))
		}
	case q.StateQuery != nil:
		state := q.StateQuery.State
		return func(u *user, _ *metadataEntry) tri { return triOf(u.state == state) }
	case q.TypeQuery != nil:
		typ := q.TypeQuery.Type
		return func(u *user, _ *metadataEntry) tri { return triOf(u.wireType() == typ) }
	case q.InUserIDsQuery != nil:
		ids := q.InUserIDsQuery.UserIDs
		return func(u *user, _ *metadataEntry) tri { return triOf(slices.Contains(ids, u.id)) }
	case q.InUserEmailsQuery != nil:
		emails := q.InUserEmailsQuery.UserEmails
		return func(u *user, _ *metadataEntry) tri { return triOf(u.email != "" && slices.Contains(emails, u.email)) }
	case q.OrganizationIDQuery != nil:
		org := q.OrganizationIDQuery.OrganizationID
		return func(u *user, _ *metadataEntry) tri { return triOf(u.orgID == org) }
	case q.MetadataKeyFilter != nil:
		key, m := q.MetadataKeyFilter.Key, buggyKeyFilterOp(q.MetadataKeyFilter.Method)
		if correctKeyFilterOp {
			m = textOp(q.MetadataKeyFilter.Method)
		}
		return func(_ *user, row *metadataEntry) tri {
			if row == nil {
				return triNull
			}
			return triOf(matchText(row.key, key, m))
		}
	case q.MetadataValueFilter != nil:
		value, notEqual := q.MetadataValueFilter.Value, q.MetadataValueFilter.Method == zitadel.ByteFilterNotEquals
		return func(_ *user, row *metadataEntry) tri {
			if row == nil {
				return triNull
			}
			return triOf(bytes.Equal(row.value, value) != notEqual)
		}
	case q.AndQuery != nil:
		return compileAll(q.AndQuery.Queries, correctKeyFilterOp)
	case q.OrQuery != nil:
		ps := make([]pred, len(q.OrQuery.Queries))
		for i := range q.OrQuery.Queries {
			ps[i] = compile(&q.OrQuery.Queries[i], correctKeyFilterOp)
		}
		return func(u *user, row *metadataEntry) tri {
			r := triFalse
			for _, p := range ps {
				r = r.or(p(u, row))
			}
			return r
		}
	case q.NotQuery != nil:
		p := compile(q.NotQuery.Query, correctKeyFilterOp)
		return func(u *user, row *metadataEntry) tri { return p(u, row).not() }
	}
	return func(*user, *metadataEntry) tri { return triFalse }
}

func (u *user) wireType() zitadel.UserType {
	if u.machine {
		return zitadel.UserTypeMachine
	}
	return zitadel.UserTypeHuman
}

// matches reports whether some joined row of u satisfies p, the DISTINCT
// over the users ⟕ user_metadata join.
func (u *user) matches(p pred) bool {
	if len(u.metadata) == 0 {
		return p(u, nil) == triTrue
	}
	for i := range u.metadata {
		if p(u, &u.metadata[i]) == triTrue {
			return true
		}
	}
	return false
}

// readableBy returns whether caller may read a user: itself, every user
// with an instance-wide user.read, the users of its own organization with
// an organization one (userPermissionCheckV2).
func readableBy(caller *user) func(*user) bool {
	all, own := false, false
	for _, r := range caller.roles {
		if r.grants(permUserRead) {
			all = all || r.instanceWide()
			own = true
		}
	}
	return func(u *user) bool {
		return all || u.id == caller.id || (own && u.orgID == caller.orgID)
	}
}

// listUsers is ListUsers: the caller's readable users matching all queries,
// sorted by the column (user id when unspecified), descending unless asc;
// limit 0 means no limit. Every request filters all users once; the order
// comes from the cached sort of all users (userOrder) when it is current,
// otherwise a page near the start is picked from the matches with a heap,
// and anything deeper sorts all users once for the requests that follow.
func listUsers(s *Server, caller *user, req *zitadel.ListUsersRequest) (*zitadel.ListUsersResponse, *apiError) {
	st := s.st
	if aerr := checkQueries(req.Queries, 0); aerr != nil {
		return nil, aerr
	}
	var q zitadel.ListQuery
	if req.Query != nil {
		q = *req.Query
	}
	offset, limit := uint64(q.Offset), uint64(q.Limit)
	readable := readableBy(caller)
	p := compileAll(req.Queries, s.cfg.correctMetadataKeyFilter)
	match := func(u *user) bool { return readable(u) && u.matches(p) }

	var (
		found []*user
		total int
	)
	if o := &st.listOrder; (o.version == st.usersVersion && o.column == req.SortingColumn) ||
		limit == 0 || offset+limit > heapWindow {
		found, total = st.orderedUsers(req.SortingColumn).page(match, q.Asc, offset, limit)
	} else {
		best := &topUsers{order: userOrderFunc(req.SortingColumn, q.Asc), max: offset + limit}
		for _, u := range st.userList {
			if match(u) {
				total++
				best.offer(u)
			}
		}
		found = page(best.sorted(), offset, limit)
	}
	resp := &zitadel.ListUsersResponse{Details: &zitadel.ListDetails{
		TotalResult:       zitadel.Uint64(total),
		ProcessedSequence: zitadel.Uint64(st.events),
		Timestamp:         zitadel.TimestampOf(st.now()),
	}}
	for _, u := range found {
		resp.Result = append(resp.Result, u.wire())
	}
	return resp, nil
}

// heapWindow is the largest offset+limit ListUsers picks with a heap
// rather than from a full sort.
const heapWindow = 1000

// userOrderFunc compares users by column, then by id, descending unless asc.
func userOrderFunc(col zitadel.UserFieldName, asc bool) func(a, b *user) int {
	return func(a, b *user) int {
		c := cmp.Or(compareBy(col, a, b), cmp.Compare(a.id, b.id))
		if !asc {
			c = -c
		}
		return c
	}
}

// userOrder is every user sorted ascending by a column, valid while the
// users are unchanged (state.usersVersion).
type userOrder struct {
	version uint64
	column  zitadel.UserFieldName
	users   []*user
}

// orderedUsers returns all users sorted by col, sorting them only when
// they changed since the last sort.
func (st *state) orderedUsers(col zitadel.UserFieldName) *userOrder {
	o := &st.listOrder
	if o.users != nil && o.version == st.usersVersion && o.column == col {
		return o
	}
	users := slices.Clone(st.userList)
	slices.SortFunc(users, userOrderFunc(col, true))
	*o = userOrder{version: st.usersVersion, column: col, users: users}
	return o
}

// page walks the users in order (reversed unless asc), counting the
// matches and keeping those from offset, at most limit (0: all).
func (o *userOrder) page(match func(*user) bool, asc bool, offset, limit uint64) (found []*user, total int) {
	n := len(o.users)
	for i := range n {
		u := o.users[i]
		if !asc {
			u = o.users[n-1-i]
		}
		if !match(u) {
			continue
		}
		if k := uint64(total); k >= offset && (limit == 0 || k < offset+limit) {
			found = append(found, u)
		}
		total++
	}
	return found, total
}

// topUsers keeps the first max users of an order in a heap whose root is
// the last of them.
type topUsers struct {
	order func(a, b *user) int
	max   uint64
	users []*user
}

func (t *topUsers) offer(u *user) {
	if uint64(len(t.users)) < t.max {
		t.users = append(t.users, u)
		t.up(len(t.users) - 1)
		return
	}
	if t.order(u, t.users[0]) < 0 {
		t.users[0] = u
		t.down(0)
	}
}

// sorted returns the kept users in order.
func (t *topUsers) sorted() []*user {
	slices.SortFunc(t.users, t.order)
	return t.users
}

// after reports whether users[i] comes after users[j]: the heap's root is
// the greatest.
func (t *topUsers) after(i, j int) bool { return t.order(t.users[i], t.users[j]) > 0 }

func (t *topUsers) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !t.after(i, parent) {
			return
		}
		t.users[i], t.users[parent] = t.users[parent], t.users[i]
		i = parent
	}
}

func (t *topUsers) down(i int) {
	n := len(t.users)
	for {
		largest, l, r := i, 2*i+1, 2*i+2
		if l < n && t.after(l, largest) {
			largest = l
		}
		if r < n && t.after(r, largest) {
			largest = r
		}
		if largest == i {
			return
		}
		t.users[i], t.users[largest] = t.users[largest], t.users[i]
		i = largest
	}
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
