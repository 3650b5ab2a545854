package manifest

import (
	"fmt"
	"strings"
)

// closest returns the candidate nearest to name, ignoring case, when it is
// near enough to be a likely misspelling; "" otherwise.
func closest(name string, candidates []string) string {
	lower := strings.ToLower(name)
	best, bestDist := "", 1<<30
	limit := max(1, min(3, len([]rune(name))/3))
	for _, c := range candidates {
		// The distance is at least the difference in length: skip the
		// candidates that cannot be close before paying for the table.
		if diff := len(c) - len(name); (diff > limit && !strings.HasPrefix(strings.ToLower(c), lower)) || -diff > limit {
			continue
		}
		lc := strings.ToLower(c)
		if lc == lower {
			return c
		}
		d := editDistance(lower, lc)
		// A singular/plural slip is the commonest mistake in object names,
		// and a shortened name (dynamics for dynamicsCRM) the next.
		if lc == lower+"s" || lower == lc+"s" {
			d = 1
		} else if len(lower) >= 4 && strings.HasPrefix(lc, lower) {
			d = min(d, 2)
		}
		if d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

// didYouMean formats a suggestion, or returns "" when there is none.
func didYouMean(name string, candidates []string) string {
	if c := closest(name, candidates); c != "" && c != name {
		return fmt.Sprintf("did you mean `%s`?", c)
	}
	return ""
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost one.
func editDistance(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return osaDistance([]byte(a), []byte(b))
	}
	return osaDistance([]rune(a), []rune(b))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func osaDistance[T byte | rune](ra, rb []T) int {
	if len(ra) == 0 {
		return len(rb)
	}
	if len(rb) == 0 {
		return len(ra)
	}
	var buf [3 * 64]int
	rows := buf[:]
	if 3*(len(rb)+1) > len(buf) {
		rows = make([]int, 3*(len(rb)+1))
	}
	prev2, prev, cur := rows[:len(rb)+1], rows[len(rb)+1:2*(len(rb)+1)], rows[2*(len(rb)+1):3*(len(rb)+1)]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
