package fakekit

import (
	"fmt"
	"time"
)

// Deterministic values for seeded records: record i always gets the same
// name, email and so on, so tests and benchmarks are repeatable and a fake
// can compute any record without storing it.

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis", "Radia", "Tim", "Hedy", "Linus", "Katherine", "John"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen", "Ritchie", "Perlman", "Berners-Lee", "Lamarr", "Torvalds", "Johnson", "Backus"}
	companies  = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent", "Cyberdyne", "Wonka", "Aperture"}
	cities     = []string{"London", "Paris", "Berlin", "Madrid", "Lisbon", "Dublin", "Amsterdam", "Oslo", "Vienna", "Prague", "Austin", "Toronto"}
	countries  = []string{"United Kingdom", "France", "Germany", "Spain", "Portugal", "Ireland", "Netherlands", "Norway", "Austria", "Czechia", "United States", "Canada"}
	industries = []string{"Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Energy", "Education", "Media"}
)

func pick(list []string, i, salt int) string { return list[(i*7+salt*13)%len(list)] }

// FirstName returns record i's first name.
func FirstName(i int) string { return pick(firstNames, i, 0) }

// LastName returns record i's last name, unique-ish across records.
func LastName(i int) string { return fmt.Sprintf("%s %d", pick(lastNames, i, 1), i) }

// Company returns record i's company name, unique across records.
func Company(i int) string { return fmt.Sprintf("%s %d", pick(companies, i, 2), i) }

// Email returns record i's email address, unique across records.
func Email(i int) string { return fmt.Sprintf("person%d@example.com", i) }

// EmailIndex is the inverse of Email: the record whose seeded email is v.
// Fakes use it as ObjectSpec.Lookup for their email fields.
func EmailIndex(v any) (int, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	var i int
	if n, err := fmt.Sscanf(s, "person%d@example.com", &i); err != nil || n != 1 || Email(i) != s {
		return 0, false
	}
	return i, true
}

// Phone returns record i's phone number.
func Phone(i int) string { return fmt.Sprintf("+44 20 7946 %04d", i%10000) }

// City returns record i's city.
func City(i int) string { return pick(cities, i, 3) }

// Country returns record i's country.
func Country(i int) string { return pick(countries, i, 3) }

// Industry returns record i's industry.
func Industry(i int) string { return pick(industries, i, 4) }

// Website returns record i's website.
func Website(i int) string { return fmt.Sprintf("https://www.company%d.example", i) }

// Amount returns record i's money amount.
func Amount(i int) float64 { return float64((i*7919)%100000) + 0.5 }

// Count returns a small whole number for record i.
func Count(i int) int { return (i*31)%5000 + 1 }

// Date returns a date for record i, within a few years of base.
func Date(base time.Time, i int) time.Time {
	return base.AddDate(0, 0, (i*17)%1000).Truncate(24 * time.Hour)
}
