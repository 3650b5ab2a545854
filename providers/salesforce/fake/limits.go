package fake

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Bulk API allocations per rolling day (Bulk API 2.0 limits page).
const (
	DailyBulkV2QueryJobs = 10_000
	// DailyBulkV2QueryFileStorageMB is 1 TB of query results.
	DailyBulkV2QueryFileStorageMB = 976_562
	// DailyBulkApiBatches is shared by Bulk API and Bulk API 2.0 ingest
	// (10,000 records a batch); Bulk API 2.0 query jobs use none.
	DailyBulkApiBatches = 15_000
	bulkBatchRecords    = 10_000
)

// dayCounter counts in a day-long window on the fake's clock, like the
// daily allocation's fakekit.Window, but by any amount and without a cap.
type dayCounter struct {
	mu    sync.Mutex
	start time.Time
	n     int64
}

func (c *dayCounter) add(now time.Time, k int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() || now.Sub(c.start) >= 24*time.Hour {
		c.start, c.n = now, 0
	}
	c.n += k
}

func (c *dayCounter) get(now time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() || now.Sub(c.start) >= 24*time.Hour {
		return 0
	}
	return c.n
}

type limit struct {
	Max       int64 `json:"Max"`
	Remaining int64 `json:"Remaining"`
}

func remaining(total, used int64) limit { return limit{Max: total, Remaining: max(total-used, 0)} }

// limits serves GET /limits. DailyApiRequests is the daily allocation
// counter that Sforce-Limit-Info reports (this request included), the Bulk
// API entries count what the fake's Bulk jobs used in the day, and the
// rest are a Developer Edition org's untouched allocations (the documented
// example's figures).
func (s *Server) limits(w http.ResponseWriter, r *http.Request) {
	now := s.kit.Clock.Now()
	mb := (s.bulkResultBytes.get(now) + 1<<20 - 1) >> 20
	m := map[string]limit{
		"DailyApiRequests":                  remaining(int64(s.allocation()), int64(s.APIUsage())),
		"DailyBulkApiBatches":               remaining(DailyBulkApiBatches, s.bulkBatches.get(now)),
		"DailyBulkV2QueryJobs":              remaining(DailyBulkV2QueryJobs, s.bulkQueryJobs.get(now)),
		"DailyBulkV2QueryFileStorageMB":     remaining(DailyBulkV2QueryFileStorageMB, mb),
		"ConcurrentAsyncGetReportInstances": {200, 200},
		"ConcurrentSyncReportRuns":          {20, 20},
		"DailyAsyncApexExecutions":          {250000, 250000},
		"DailyGenericStreamingApiEvents":    {10000, 10000},
		"DailyStreamingApiEvents":           {10000, 10000},
		"DailyWorkflowEmails":               {75, 75},
		"DataStorageMB":                     {1073, 1073},
		"FileStorageMB":                     {1073, 1073},
		"HourlyAsyncReportRuns":             {1200, 1200},
		"HourlyDashboardRefreshes":          {200, 200},
		"HourlyDashboardResults":            {5000, 5000},
		"HourlyDashboardStatuses":           {999999999, 999999999},
		"HourlySyncReportRuns":              {500, 500},
		"HourlyTimeBasedWorkflow":           {50, 50},
		"MassEmail":                         {10, 10},
		"SingleEmail":                       {15, 15},
		"StreamingApiConcurrentClients":     {20, 20},
	}
	writeJSON(w, http.StatusOK, m)
}

// versions serves GET /services/data/: every version the fake serves,
// oldest first, labelled with its release.
func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	type ver struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	out := make([]ver, 0, MaxAPIVersion-MinAPIVersion+1)
	for n := MinAPIVersion; n <= MaxAPIVersion; n++ {
		out = append(out, ver{releaseLabel(n), fmt.Sprintf("/services/data/v%d.0", n), fmt.Sprintf("%d.0", n)})
	}
	writeJSON(w, http.StatusOK, out)
}

// releaseLabel names the release of API version n: three releases a year
// (Spring, Summer, Winter of the next year), v60.0 being Spring '24.
func releaseLabel(n int) string {
	k := n - 60
	cycle := ((k % 3) + 3) % 3
	year := 24 + (k-cycle)/3
	season := [...]string{"Spring", "Summer", "Winter"}[cycle]
	if cycle == 2 {
		year++
	}
	return fmt.Sprintf("%s '%02d", season, year)
}
