package modules

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// pythonWith returns an interpreter that can import every module, or
// skips the test (fails it when CI=true: CI must install the packages).
func pythonWith(t *testing.T, debPackages string, modules ...string) string {
	t.Helper()
	script := ""
	for _, m := range modules {
		script += "import " + m + "\n"
	}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if err := exec.Command(py, "-c", script).Run(); err == nil {
			return py
		}
	}
	msg := "no python3 can import " + debPackages + ": apt-get install -y " + debPackages
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func appsDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("testdata", "pyapps"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// pythonLifecycle starts the module, checks health, crashes it through
// /crash, waits for the restart, and stops it.
func pythonLifecycle(t *testing.T, m ModuleConfig) {
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"app": m}})
	res := h.start("app")
	if res.Error != nil {
		tail := h.tailText("app")
		t.Fatalf("start: %v\n%s", res.Error, tail)
	}
	st := res.Status
	if st.Health != "ok" || st.Pid == 0 {
		t.Fatalf("status: %v", st)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(m.Port)
	if r, err := http.Get(base + "/health"); err != nil || r.StatusCode != 200 {
		t.Fatalf("health: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	if r, err := http.Get(base + "/crash"); err == nil {
		r.Body.Close()
	}
	ev := h.event("module.app.crashed", 20*time.Second)
	if ev.ExitCode != 3 || ev.Restarts != 1 {
		t.Fatalf("crash event: %v", ev)
	}
	h.event("module.app.started", 30*time.Second)
	st2 := h.status("app")
	if st2.Pid == st.Pid || st2.State != StateRunning {
		t.Fatalf("after restart: %v", st2)
	}
	stop := h.stop("app")
	if stop.Status.State != StateStopped || alive(int(st2.Pid)) {
		t.Fatalf("stop: %v", stop)
	}
}

func pyModule(t *testing.T, typ, py string) ModuleConfig {
	m := DefaultModuleConfig()
	m.Type = typ
	m.Python = py
	m.Port = freePort(t)
	m.Cwd = appsDir(t)
	m.HealthcheckEndpoint = "/health"
	m.StartPeriod = 0
	m.StopTimeout = 5 * time.Second
	m.Backoff = Backoff{Max: time.Second}
	return m
}

func TestUvicornFastAPI(t *testing.T) {
	py := pythonWith(t, "python3-uvicorn python3-fastapi", "uvicorn", "fastapi")
	m := pyModule(t, TypeUvicorn, py)
	m.App = "fastapi_app:app"
	pythonLifecycle(t, m)
}

func TestFlaskWaitress(t *testing.T) {
	py := pythonWith(t, "python3-flask python3-waitress", "flask", "waitress")
	m := pyModule(t, TypeFlask, py)
	m.App = "flask_app:app"
	pythonLifecycle(t, m)
}

func TestFlaskDebug(t *testing.T) {
	py := pythonWith(t, "python3-flask", "flask")
	m := pyModule(t, TypeFlask, py)
	m.App = "flask_app:app"
	m.Debug = true
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"dbg": m}})
	res := h.start("dbg")
	if res.Error != nil || res.Status.Health != "ok" {
		t.Fatalf("start: %v\n%s", res, h.tailText("dbg"))
	}
	if stop := h.stop("dbg"); stop.Status.State != StateStopped {
		t.Fatalf("stop: %v", stop)
	}
}
