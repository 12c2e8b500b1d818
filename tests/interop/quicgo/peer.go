// A small quic-go 0.29 peer for lwquic's interop tests: an hq-interop / h3 file
// server and a client that fetches URLs into a directory. Built offline from
// Debian's golang-github-lucas-clemente-quic-go-dev (GOPATH=/usr/share/gocode).
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lucas-clemente/quic-go"
	"github.com/lucas-clemente/quic-go/http3"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "quicgo-peer: "+format+"\n", args...)
	os.Exit(1)
}

func keylog() io.Writer {
	if f := os.Getenv("SSLKEYLOGFILE"); f != "" {
		w, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0644)
		if err == nil {
			return w
		}
	}
	return nil
}

// ConnectionIDLength 8: a client dialing its own socket would otherwise use zero-length connection
// IDs, and a pcap reader (the runner's checks, tshark) cannot tie its short-header packets on a new
// path to the connection.
func quicConfig() *quic.Config {
	return &quic.Config{MaxIdleTimeout: 30 * time.Second, HandshakeIdleTimeout: 10 * time.Second,
		ConnectionIDLength: 8}
}

// safePath maps a request path under root, refusing to escape it.
func safePath(root, p string) (string, bool) {
	clean := path.Clean("/" + p)
	full := filepath.Join(root, filepath.FromSlash(clean))
	if !strings.HasPrefix(full, filepath.Clean(root)+string(os.PathSeparator)) {
		return "", false
	}
	return full, true
}

func serveHQ(accept func() (quic.Connection, error), root string) {
	for {
		conn, err := accept()
		if err != nil {
			return
		}
		go func(c quic.Connection) {
			for {
				s, err := c.AcceptStream(context.Background())
				if err != nil {
					return
				}
				go func(s quic.Stream) {
					defer s.Close()
					line, err := bufio.NewReader(io.LimitReader(s, 4096)).ReadString('\n')
					if err != nil || !strings.HasPrefix(line, "GET ") {
						s.CancelWrite(0x10c)
						return
					}
					p := strings.TrimSpace(strings.TrimPrefix(line, "GET "))
					full, ok := safePath(root, p)
					if !ok {
						s.CancelWrite(0x10c)
						return
					}
					f, err := os.Open(full)
					if err != nil {
						s.CancelWrite(0x10c)
						return
					}
					defer f.Close()
					io.Copy(s, f)
				}(s)
			}
		}(conn)
	}
}

// serveEcho answers each bidirectional stream with the bytes it carried, then FIN (the message
// protocol of lwquic's src/app, PyQuic's "echo").
func serveEcho(ln quic.Listener) {
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		go func(c quic.Connection) {
			for {
				s, err := c.AcceptStream(context.Background())
				if err != nil {
					return
				}
				go func(s quic.Stream) {
					data, err := io.ReadAll(io.LimitReader(s, 16<<20))
					if err != nil {
						s.CancelWrite(1)
						return
					}
					s.Write(data)
					s.Close()
				}(s)
			}
		}(conn)
	}
}

// runEchoClient sends each message on its own stream, all at once, and prints the answers in order.
func runEchoClient(args []string) {
	fs := flag.NewFlagSet("echo-client", flag.ExitOnError)
	cafile := fs.String("cafile", "", "CA certificate (PEM)")
	addr := fs.String("addr", "127.0.0.1:4433", "server address")
	name := fs.String("name", "localhost", "server name")
	fs.Parse(args)
	tconf := tlsClient(*cafile, "echo")
	tconf.ServerName = *name
	conn, err := quic.DialAddr(*addr, tconf, quicConfig())
	if err != nil {
		fail("dial %s: %v", *addr, err)
	}
	msgs := fs.Args()
	answers := make([]string, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		go func(i int, m string) {
			defer wg.Done()
			s, err := conn.OpenStreamSync(context.Background())
			if err != nil {
				answers[i] = "error: " + err.Error()
				return
			}
			s.Write([]byte(m))
			s.Close()
			data, err := io.ReadAll(s)
			if err != nil {
				answers[i] = "error: " + err.Error()
				return
			}
			answers[i] = string(data)
		}(i, m)
	}
	wg.Wait()
	for _, a := range answers {
		fmt.Println(a)
	}
	conn.CloseWithError(0, "done")
}

func runServer(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:4433", "address")
	root := fs.String("root", ".", "directory to serve")
	cert := fs.String("cert", "", "certificate chain (PEM)")
	key := fs.String("key", "", "private key (PEM)")
	alpn := fs.String("alpn", "hq-interop", "hq-interop, h3 or echo")
	retry := fs.Bool("retry", false, "validate every client address with a Retry")
	early := fs.Bool("0rtt", false, "accept 0-RTT data (hq-interop)")
	fs.Parse(args)
	qconf := quicConfig()
	if *retry {
		qconf.RequireAddressValidation = func(net.Addr) bool { return true }
	}
	pair, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		fail("loading certificate: %v", err)
	}
	tconf := &tls.Config{Certificates: []tls.Certificate{pair}, NextProtos: []string{*alpn}, KeyLogWriter: keylog()}
	if *alpn == "h3" {
		mux := http.NewServeMux()
		mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			io.Copy(w, r.Body)
		})
		mux.Handle("/", http.FileServer(http.Dir(*root)))
		srv := http3.Server{Addr: *listen, Handler: mux, TLSConfig: tconf, QuicConfig: qconf}
		fmt.Fprintf(os.Stderr, "quicgo-peer: h3 server on %s\n", *listen)
		if err := srv.ListenAndServe(); err != nil {
			fail("h3 server: %v", err)
		}
		return
	}
	if *alpn == "echo" {
		ln, err := quic.ListenAddr(*listen, tconf, qconf)
		if err != nil {
			fail("listen: %v", err)
		}
		fmt.Fprintf(os.Stderr, "quicgo-peer: echo server on %s\n", *listen)
		serveEcho(ln)
		return
	}
	if *early {
		ln, err := quic.ListenAddrEarly(*listen, tconf, qconf)
		if err != nil {
			fail("listen: %v", err)
		}
		fmt.Fprintf(os.Stderr, "quicgo-peer: hq-interop server (0-RTT) on %s\n", *listen)
		serveHQ(func() (quic.Connection, error) { return ln.Accept(context.Background()) }, *root)
		return
	}
	ln, err := quic.ListenAddr(*listen, tconf, qconf)
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Fprintf(os.Stderr, "quicgo-peer: hq-interop server on %s\n", *listen)
	serveHQ(func() (quic.Connection, error) { return ln.Accept(context.Background()) }, *root)
}

func tlsClient(cafile, alpn string) *tls.Config {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(cafile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		fail("reading CA file %s", cafile)
	}
	return &tls.Config{RootCAs: pool, NextProtos: []string{alpn}, KeyLogWriter: keylog()}
}

func save(dir, p string, r io.Reader) error {
	name := path.Base(p)
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, r)
	return err
}

func runClient(args []string) {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	cafile := fs.String("cafile", "", "CA certificate (PEM)")
	out := fs.String("o", ".", "output directory")
	alpn := fs.String("alpn", "hq-interop", "hq-interop or h3")
	post := fs.String("post", "", "POST this file's bytes to each URL instead of GET (h3)")
	resolve := fs.String("resolve", "", "host=addr:port[,host=addr:port...]: connect there, keep host as the SNI (hq-interop)")
	resume := fs.Bool("resume", false, "fetch the first URL, wait for a session ticket, fetch the rest on a resumed connection")
	zerortt := fs.Bool("0rtt", false, "as --resume, sending the second connection's requests in 0-RTT")
	multi := fs.Bool("multiconnect", false, "one connection per URL")
	hsTimeout := fs.Duration("handshake-timeout", 10*time.Second, "handshake idle timeout")
	fs.Parse(args)
	urls := fs.Args()
	if len(urls) == 0 {
		fail("no URL given")
	}
	tconf := tlsClient(*cafile, *alpn)
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	if *alpn == "h3" {
		rt := &http3.RoundTripper{TLSClientConfig: tconf, QuicConfig: quicConfig()}
		rt.Dial = func(ctx context.Context, addr string, tc *tls.Config, qc *quic.Config) (quic.EarlyConnection, error) {
			host, _, _ := net.SplitHostPort(addr)
			// The certificate is checked against the URL's host, not the address it resolves to.
			tc = tc.Clone()
			if tc.ServerName == "" {
				tc.ServerName = host
			}
			for _, r := range strings.Split(*resolve, ",") {
				if kv := strings.SplitN(r, "=", 2); len(kv) == 2 && kv[0] == host {
					addr = kv[1]
				}
			}
			return quic.DialAddrEarlyContext(ctx, addr, tc, qc)
		}
		defer rt.Close()
		client := &http.Client{Transport: rt}
		for _, u := range urls {
			wg.Add(1)
			go func(u string) {
				defer wg.Done()
				var resp *http.Response
				var err error
				if *post != "" {
					body, rerr := os.ReadFile(*post)
					if rerr != nil {
						err = rerr
					} else {
						resp, err = client.Post(u, "application/octet-stream", bytes.NewReader(body))
					}
				} else {
					resp, err = client.Get(u)
				}
				if err == nil {
					defer resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					} else {
						pu, _ := url.Parse(u)
						err = save(*out, pu.Path, resp.Body)
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, u+": "+err.Error())
					mu.Unlock()
				}
			}(u)
		}
		wg.Wait()
	} else {
		errs = fetchHQClient(tconf, urls, *out, clientModes{*resolve, *resume, *zerortt, *multi, *hsTimeout})
	}
	if len(errs) > 0 {
		fail("%d failed: %s", len(errs), strings.Join(errs, "; "))
	}
}

type clientModes struct {
	resolve         string
	resume, zerortt bool
	multi           bool
	hsTimeout       time.Duration
}

// ticketCache signals when the server's NewSessionTicket arrived.
type ticketCache struct {
	tls.ClientSessionCache
	got chan struct{}
}

func (c *ticketCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs != nil {
		select {
		case c.got <- struct{}{}:
		default:
		}
	}
}

func fetchHQClient(tconf *tls.Config, urls []string, out string, m clientModes) []string {
	first, err := url.Parse(urls[0])
	if err != nil {
		fail("bad URL %s", urls[0])
	}
	tconf.ServerName = first.Hostname()
	addr := first.Host
	if first.Port() == "" {
		addr = net.JoinHostPort(first.Hostname(), "443")
	}
	for _, r := range strings.Split(m.resolve, ",") {
		if kv := strings.SplitN(r, "=", 2); len(kv) == 2 && kv[0] == first.Hostname() {
			addr = kv[1]
		}
	}
	qconf := quicConfig()
	qconf.HandshakeIdleTimeout = m.hsTimeout
	cache := &ticketCache{tls.NewLRUClientSessionCache(4), make(chan struct{}, 1)}
	tconf.ClientSessionCache = cache
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	dial := func(early bool) (quic.Connection, error) {
		if early {
			return quic.DialAddrEarlyContext(ctx, addr, tconf, qconf)
		}
		return quic.DialAddrContext(ctx, addr, tconf, qconf)
	}
	var errs []string
	switch {
	case m.multi:
		for _, u := range urls {
			conn, err := dial(false)
			if err != nil {
				return append(errs, u+": "+err.Error())
			}
			errs = append(errs, fetchHQ(ctx, conn, []string{u}, out)...)
			conn.CloseWithError(0, "")
		}
	case m.resume || m.zerortt:
		conn, err := dial(false)
		if err != nil {
			return []string{"connecting: " + err.Error()}
		}
		errs = fetchHQ(ctx, conn, urls[:1], out)
		select {
		case <-cache.got:
		case <-time.After(5 * time.Second):
			errs = append(errs, "no session ticket within 5 s")
		}
		conn.CloseWithError(0, "")
		if len(urls) > 1 {
			conn, err = dial(m.zerortt)
			if err != nil {
				return append(errs, "resuming: "+err.Error())
			}
			errs = append(errs, fetchHQ(ctx, conn, urls[1:], out)...)
			if !conn.ConnectionState().TLS.DidResume {
				errs = append(errs, "the second connection was not resumed")
			}
			conn.CloseWithError(0, "")
		}
	default:
		conn, err := dial(false)
		if err != nil {
			fail("connecting to %s: %v", addr, err)
		}
		errs = fetchHQ(ctx, conn, urls, out)
		conn.CloseWithError(0, "")
	}
	return errs
}

// fetchHQ fetches every URL on conn, one stream each (HTTP/0.9).
func fetchHQ(ctx context.Context, conn quic.Connection, urls []string, out string) []string {
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Add(1)
		go func(u string) {
			defer wg.Done()
			pu, _ := url.Parse(u)
			err := func() error {
				s, err := conn.OpenStreamSync(ctx)
				if err != nil {
					return err
				}
				if _, err := s.Write([]byte("GET " + pu.Path + "\r\n")); err != nil {
					return err
				}
				s.Close()
				return save(out, pu.Path, s)
			}()
			if err != nil {
				mu.Lock()
				errs = append(errs, u+": "+err.Error())
				mu.Unlock()
			}
		}(u)
	}
	wg.Wait()
	return errs
}

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		os.Exit(0)
	}()
	if len(os.Args) < 2 {
		fail("usage: quicgo-peer server|client [flags]")
	}
	switch os.Args[1] {
	case "server":
		runServer(os.Args[2:])
	case "client":
		runClient(os.Args[2:])
	case "echo-client":
		runEchoClient(os.Args[2:])
	default:
		fail("%v", errors.New("unknown mode "+os.Args[1]))
	}
}
