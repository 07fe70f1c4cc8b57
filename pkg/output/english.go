// This file words counts for people: "1 node", "2 nodes", "1 field changes".

package output

import "fmt"

// N is n with the noun in the number n needs: N(1, "node", "nodes") is "1 node".
func N(n int, one, many string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Plural is N for nouns that take an "s": Plural(2, "disk") is "2 disks".
func Plural(n int, noun string) string { return N(n, noun, noun+"s") }

// Agree is the word that agrees with n: Agree(1, "is", "are") is "is".
func Agree(n int, one, many string) string {
	if n == 1 || n == -1 {
		return one
	}
	return many
}
