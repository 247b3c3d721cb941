package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a child process serving HTTP on a loopback port.
type server struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	started time.Time
	ready   time.Duration // from start to the first 200 from /readyz
	logged  chan int64    // startup_ms from the "parley is ready" line, once
	done    chan error

	stopOnce sync.Once
	stopErr  error
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// build compiles the Parley binary from the module at root into dir.
func build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "parley")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build parley: %w", err)
	}
	return bin, nil
}

// start runs bin with env on a free loopback port and waits (at most 30 s)
// until /readyz answers 200; log receives the child's stderr.
func start(bin string, args []string, env []string, log io.Writer) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), env...), "PARLEY_ADDR="+addr, "BENCH_STATIC_ADDR="+addr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = log
	s := &server{cmd: cmd, base: "http://" + addr, logged: make(chan int64, 1), done: make(chan error, 1)}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go s.scanLog(stderr, log)
	go func() { s.done <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("%s exited before it was ready: %v", bin, err)
		default:
		}
		resp, err := client.Get(s.base + "/readyz")
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			s.ready = time.Since(s.started)
			return s, nil
		}
	}
	s.stop()
	return nil, errors.New("server not ready after 30 s")
}

// scanLog copies the child's log and picks out startup_ms.
func (s *server) scanLog(r io.Reader, log io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		fmt.Fprintf(log, "%s\n", line)
		var entry struct {
			Msg       string `json:"msg"`
			StartupMS *int64 `json:"startup_ms"`
		}
		if json.Unmarshal(line, &entry) == nil && entry.Msg == "parley is ready" && entry.StartupMS != nil {
			select {
			case s.logged <- *entry.StartupMS:
			default:
			}
		}
	}
}

// startupMS returns the startup_ms the server logged, or -1.
func (s *server) startupMS() int64 {
	select {
	case ms := <-s.logged:
		s.logged <- ms
		return ms
	case <-time.After(2 * time.Second):
		return -1
	}
}

// stop asks the child to shut down (SIGTERM), then kills it after 20 s.
// Stopping twice is stopping once.
func (s *server) stop() error {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case s.stopErr = <-s.done:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			s.stopErr = <-s.done
		}
	})
	return s.stopErr
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// memory reads a process's resident set and its peak (VmRSS, VmHWM) in KiB.
func memory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

// resetPeak makes VmHWM start again from the current RSS (Linux 4.0+), so
// each scenario reports its own peak; where that fails, sampling still does.
func resetPeak(pid int) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// rssSampler records a process's highest RSS every 20 ms until stopped.
type rssSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup
	max  int64
}

func sampleRSS(pid int) *rssSampler {
	resetPeak(pid)
	s := &rssSampler{pid: pid, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := memory(pid); err == nil {
				s.max = max(s.max, rss)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// peak stops sampling and returns the highest RSS seen, in KiB.
func (s *rssSampler) peak() int64 {
	close(s.stop)
	s.wg.Wait()
	if _, hwm, err := memory(s.pid); err == nil {
		s.max = max(s.max, hwm)
	}
	return s.max
}

// staticPage is what the ceiling server answers: the same bytes and headers
// as the Parley page it stands in for.
type staticPage struct {
	Header http.Header
	Body   []byte
}

// serveStatic is the ceiling: a minimal net/http server (with Parley's
// timeouts) that answers every request with one page from memory. It runs
// as a child process, like Parley, and exits on SIGTERM.
func serveStatic(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var p staticPage
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              os.Getenv("BENCH_STATIC_ADDR"),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hd := w.Header()
			for k, v := range p.Header {
				hd[k] = v
			}
			w.WriteHeader(http.StatusOK)
			w.Write(p.Body)
		}),
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signalNotify(ch)
		<-ch
		srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
