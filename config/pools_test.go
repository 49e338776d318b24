package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestThreadPools: the seed's pools load from
// [daemon.resource_allocation.thread_pools], and a bad max_workers is a
// problem naming its key.
func TestThreadPools(t *testing.T) {
	c := loadString(t, "[daemon.resource_allocation.thread_pools]\ncpu = { max_workers = 2 }\n")
	want := ThreadPools{Default: Pool{MaxWorkers: 10}, IO: Pool{MaxWorkers: 20}, CPU: Pool{MaxWorkers: 2}}
	if got := c.Daemon.ResourceAllocation.ThreadPools; !reflect.DeepEqual(got, want) {
		t.Fatalf("pools %+v, want %+v", got, want)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "a.toml")
	if err := os.WriteFile(path, []byte("[daemon.resource_allocation.thread_pools]\nio = { max_workers = 0 }\ncpu = { max_workers = 2000 }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	got := problemsOf(t, err)
	wantProblems := []string{
		"daemon.resource_allocation.thread_pools.io.max_workers: must be in [1, 1024], got 0",
		"daemon.resource_allocation.thread_pools.cpu.max_workers: must be in [1, 1024], got 2000",
	}
	if len(got) != len(wantProblems) {
		t.Fatalf("problems %q, want %q", got, wantProblems)
	}
	for i := range got {
		if !strings.HasPrefix(got[i], wantProblems[i]) {
			t.Errorf("problem %q, want %q", got[i], wantProblems[i])
		}
	}
}
