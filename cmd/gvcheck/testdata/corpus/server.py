# A server under load: a threaded HTTP server on a free port, 300 requests
# from 6 client threads; prints what the clients got.
import http.server, socketserver, threading, urllib.request

class Q(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        body = ("x" * 1000 + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Q)
srv.daemon_threads = True
port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
total = []
lock = threading.Lock()
def client(k):
    n = 0
    for i in range(50):
        with urllib.request.urlopen("http://127.0.0.1:%d/%d/%d" % (port, k, i)) as r:
            n += len(r.read())
    with lock:
        total.append(n)
ts = [threading.Thread(target=client, args=(k,)) for k in range(6)]
for t in ts: t.start()
for t in ts: t.join()
srv.shutdown()
print("requests 300 bytes", sum(total))
