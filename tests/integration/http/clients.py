"""Python clients for the HTTP/1.1 tests: a requests.Session doing a sequence of requests on one
pooled connection, and websocket-client against refused upgrades. Prints one JSON document.

  clients.py session BASE_URL ITEM...         each ITEM is "METHOD path?query [body]"; "{sid}"
                                              is replaced by the sid of the last open packet
  clients.py ws URL [Origin]                  tries a WebSocket; prints how it ended
"""
import json
import socket
import sys

import requests
import websocket


def session(base, items):
    out = []
    s = requests.Session()
    sid = ""
    for item in items:
        parts = item.replace("{sid}", sid).split(" ", 2)
        method, target = parts[0], parts[1]
        body = parts[2] if len(parts) > 2 else None
        r = s.request(method, base + target, data=body, timeout=5, stream=True)
        # The socket that carried the answer tells whether the connection was reused.
        conn = r.raw._connection
        sock = conn.sock if conn is not None else None
        ident = id(sock) if sock is not None else None
        text = r.content.decode("utf-8", "replace")
        out.append({"status": r.status_code, "body": text,
                    "connection": r.headers.get("connection"), "sock": ident})
        if text.startswith("0{"):
            sid = json.loads(text[1:])["sid"]
        r.close()
    return {"results": out}


def ws(url, origin):
    try:
        c = websocket.create_connection(url, timeout=5, origin=origin) if origin else \
            websocket.create_connection(url, timeout=5)
    except websocket.WebSocketBadStatusException as e:
        return {"refused": True, "status": e.status_code, "message": str(e)}
    except (ConnectionResetError, websocket.WebSocketConnectionClosedException, socket.timeout,
            OSError) as e:
        return {"refused": False, "error": type(e).__name__, "message": str(e)}
    first = c.recv()
    c.close()
    return {"refused": False, "opened": True, "first": first}


def main():
    if sys.argv[1] == "session":
        print(json.dumps(session(sys.argv[2], sys.argv[3:])))
    elif sys.argv[1] == "ws":
        print(json.dumps(ws(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)))
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
