// quicpeer: the QUIC peers record.sh records (quic-go from Debian's golang-github-lucas-clemente-quic-go-dev).
//
//	quicpeer server ADDR CERT KEY ALPN [retry|hrr] echo the first stream of every connection; "retry" sends a Retry
//	                                              first, "hrr" takes only P-256 (a HelloRetryRequest to an X25519 share)
//	quicpeer client ADDR SNI ALPN MESSAGE         send MESSAGE on a stream, read the echo, close
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/lucas-clemente/quic-go"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: quicpeer server ADDR CERT KEY ALPN [retry] | client ADDR SNI ALPN MESSAGE")
		os.Exit(64)
	}
	var err error
	switch os.Args[1] {
	case "server":
		option := ""
		if len(os.Args) > 6 {
			option = os.Args[6]
		}
		err = server(os.Args[2], os.Args[3], os.Args[4], os.Args[5], option)
	case "client":
		err = client(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quicpeer:", err)
		os.Exit(1)
	}
}

func server(addr, certFile, keyFile, alpn, option string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	config := &quic.Config{Versions: []quic.VersionNumber{quic.Version1}}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}}
	switch option {
	case "retry":
		config.RequireAddressValidation = func(net.Addr) bool { return true }
	case "hrr":
		tlsConf.CurvePreferences = []tls.CurveID{tls.CurveP256}
	}
	listener, err := quic.ListenAddr(addr, tlsConf, config)
	if err != nil {
		return err
	}
	for {
		conn, err := listener.Accept(context.Background())
		if err != nil {
			return err
		}
		go func() {
			stream, err := conn.AcceptStream(context.Background())
			if err != nil {
				return
			}
			io.Copy(stream, stream)
		}()
	}
}

func client(addr, sni, alpn, message string) error {
	tlsConf := &tls.Config{InsecureSkipVerify: true, ServerName: sni, NextProtos: []string{alpn}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := quic.DialAddrContext(ctx, addr, tlsConf, &quic.Config{Versions: []quic.VersionNumber{quic.Version1}})
	if err != nil {
		return err
	}
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	if _, err = stream.Write([]byte(message)); err != nil {
		return err
	}
	buf := make([]byte, len(message))
	if _, err = io.ReadFull(stream, buf); err != nil {
		return err
	}
	stream.Close()
	return conn.CloseWithError(0, "done")
}
