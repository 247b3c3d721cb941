// Command disqusgen writes a synthetic Disqus export for import benchmarks:
//
//	go run ./bench/disqusgen -comments 1000000 -threads 20000 -o disqus-1m.xml.gz
//
// Threads come first, as in a real export; each thread's comments follow
// with replies to earlier comments of the same thread (a third of them),
// some HTML in the bodies, and a sprinkling of spam and deleted comments.
// The output is deterministic for a given -seed.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

func main() {
	comments := flag.Int("comments", 1_000_000, "comments to write")
	threads := flag.Int("threads", 20_000, "threads to spread them over")
	out := flag.String("o", "disqus.xml.gz", "output file (.gz: gzipped, as Disqus mails it)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *threads < 1 || *comments < 0 {
		log.Fatal("want at least one thread")
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(*out, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := write(bw, *comments, *threads, rand.New(rand.NewPCG(*seed, 2))); err != nil {
		log.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

var words = strings.Fields(`the a comment post thanks great article agree disagree point think really good
	interesting read more about this that which would could should never always sometimes question answer
	example link code idea problem solution blog writer reader time year day people world`)

func sentence(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

func write(w *bufio.Writer, comments, threads int, r *rand.Rand) error {
	start := time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC)
	fmt.Fprint(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+
		`<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+"\n")
	for t := range threads {
		fmt.Fprintf(w, `<thread dsq:id="%d"><id>post-%d</id><forum>bench</forum><link>https://blog.example/%d/%02d/post-%d/</link>`+
			`<title>Post number %d</title><message/><createdAt>%s</createdAt><author><name>Owner</name><isAnonymous>false</isAnonymous></author>`+
			`<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>`+"\n",
			1_000_000_000+t, t, 2012+t%10, 1+t%12, t, t, start.Add(time.Duration(t)*time.Hour).Format(time.RFC3339))
	}
	id := 0
	for t := range threads {
		n := comments / threads
		if t < comments%threads {
			n++
		}
		first := id
		for i := range n {
			id++
			parent := ""
			if i > 0 && r.IntN(3) == 0 {
				parent = fmt.Sprintf(`<parent dsq:id="%d"/>`, first+1+r.IntN(i))
			}
			deleted, spam := "false", "false"
			switch r.IntN(100) {
			case 0:
				deleted = "true"
			case 1:
				spam = "true"
			}
			body := "<p>" + sentence(r, 8+r.IntN(30)) + "</p>"
			if r.IntN(4) == 0 {
				body += `<p>See <a href="https://example.org/` + fmt.Sprint(id) + `" rel="nofollow">this</a> and <b>` + sentence(r, 3) + `</b>.</p>`
			}
			if _, err := fmt.Fprintf(w, `<post dsq:id="%d"><id/><message><![CDATA[%s]]></message><createdAt>%s</createdAt>`+
				`<isDeleted>%s</isDeleted><isSpam>%s</isSpam><author><email>user%d@example.com</email><name>User %d</name>`+
				`<isAnonymous>false</isAnonymous><username>user%d</username></author><ipAddress>192.0.2.%d</ipAddress>`+
				`<thread dsq:id="%d"/>%s</post>`+"\n",
				id, body, start.Add(time.Duration(id)*time.Minute).Format(time.RFC3339), deleted, spam,
				id%5000, id%5000, id%5000, id%250, 1_000_000_000+t, parent); err != nil {
				return err
			}
		}
	}
	_, err := fmt.Fprint(w, "</disqus>\n")
	return err
}
