package main

import (
	"encoding/json"
	"net/http"

	"github.com/shadowaccounts/shadow"
)

type product struct {
	SKU, Name, Blurb string
	Cents            int
}

var catalog = []product{
	{"mug", "Shadow mug", "Stoneware, 330 ml. Keeps coffee warm while you decide whether to register.", 1200},
	{"tee", "Guest T-shirt", "Organic cotton. Anonymous until you say otherwise.", 2500},
	{"sticker", "ZITADEL sticker", "Vinyl, 7 cm. Sticks to laptops, not to your identity.", 300},
}

func findProduct(sku string) (product, bool) {
	for _, p := range catalog {
		if p.SKU == sku {
			return p, true
		}
	}
	return product{}, false
}

// cartLine is a cart item for display.
type cartLine struct {
	SKU, Name  string
	Quantity   int
	UnitCents  int
	TotalCents int
}

type homePage struct {
	Layout     layout
	Products   []product
	Cart       []cartLine
	TotalCents int
	Debug      *debugPanel
}

func (s *shop) home(w http.ResponseWriter, r *http.Request) {
	p := homePage{Layout: s.frame(w, r, "Shadow shop"), Products: catalog}
	owner := s.owner(r)
	var cart shadow.Cart
	if owner != "" {
		var err error
		cart, err = s.store.Get(r.Context(), owner)
		if err != nil {
			s.fail(w, r, "read your cart", err)
			return
		}
		for _, it := range cart.Items {
			pr, ok := findProduct(it.SKU)
			if !ok {
				pr = product{SKU: it.SKU, Name: it.SKU}
			}
			line := cartLine{SKU: it.SKU, Name: pr.Name, Quantity: it.Quantity, UnitCents: pr.Cents, TotalCents: pr.Cents * it.Quantity}
			p.Cart = append(p.Cart, line)
			p.TotalCents += line.TotalCents
		}
	}
	p.Debug = s.debugPanel(r, cart)
	render(w, http.StatusOK, "home", p)
}

func (s *shop) addToCart(w http.ResponseWriter, r *http.Request) {
	pr, ok := findProduct(r.PostFormValue("sku"))
	if !ok {
		s.redirect(w, r, "/", "error", "That product is not in our catalog.")
		return
	}
	if !s.firstSubmit(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	owner := ""
	if c := s.currentCustomer(r); c != nil {
		owner = c.UserID
	} else {
		sess, err := s.ensureGuest(w, r) // the first intent creates the guest
		if err != nil {
			s.fail(w, r, "open your cart", err)
			return
		}
		owner = sess.GuestID
	}
	s.cartMu.Lock()
	err := s.store.Add(r.Context(), owner, shadow.Item{SKU: pr.SKU, Quantity: 1})
	s.cartMu.Unlock()
	if err != nil {
		s.fail(w, r, "add to your cart", err)
		return
	}
	s.redirect(w, r, "/#cart", "ok", pr.Name+" is in your cart.")
}

// removeFromCart drops a whole line. The CartStore has no removal, so the
// cart is rebuilt without it (read, delete, add back the other lines)
// under the shop's cart lock, which its own adds take too.
func (s *shop) removeFromCart(w http.ResponseWriter, r *http.Request) {
	sku := r.PostFormValue("sku")
	owner := s.owner(r)
	if owner == "" {
		s.redirect(w, r, "/", "error", "Your cart is already empty.")
		return
	}
	if !s.firstSubmit(r) {
		http.Redirect(w, r, "/#cart", http.StatusSeeOther)
		return
	}
	s.cartMu.Lock()
	defer s.cartMu.Unlock()
	cart, err := s.store.Get(r.Context(), owner)
	if err != nil {
		s.fail(w, r, "update your cart", err)
		return
	}
	var keep []shadow.Item
	found := false
	for _, it := range cart.Items {
		if it.SKU == sku {
			found = true
			continue
		}
		keep = append(keep, it)
	}
	if !found {
		http.Redirect(w, r, "/#cart", http.StatusSeeOther)
		return
	}
	if err := s.store.Delete(r.Context(), owner); err != nil {
		s.fail(w, r, "update your cart", err)
		return
	}
	for _, it := range keep {
		if err := s.store.Add(r.Context(), owner, it); err != nil {
			s.fail(w, r, "update your cart", err)
			return
		}
	}
	name := sku
	if pr, ok := findProduct(sku); ok {
		name = pr.Name
	}
	s.redirect(w, r, "/#cart", "ok", name+" was removed from your cart.")
}

// cartJSON is the cart as the store holds it, for the debug panel.
func cartJSON(owner string, c shadow.Cart) string {
	items := c.Items
	if items == nil {
		items = []shadow.Item{}
	}
	b, _ := json.MarshalIndent(struct {
		Owner string        `json:"owner"`
		Items []shadow.Item `json:"items"`
	}{owner, items}, "", "  ")
	return string(b)
}
