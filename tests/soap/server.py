"""A SOAP 1.1 directory service for wsc's interop tests, built with spyne (PyPI).

Users and groups in memory, served at POST /soap (WSDL at GET /soap?wsdl):

  ListUsers(offset, limit) -> UserPage { total, users }   (paged)
  GetUser(id) -> User                                      (unknown id: Fault Client.NotFound)
  CreateUser(userName, email, givenName, familyName) -> User
  UpdateUser(id, email, givenName, familyName) -> User
  DeleteUser(id), EnableUser(id) -> User, DisableUser(id) -> User
  ListGroups() -> Group[] (with member ids)
  AddGroupMember(groupId, userId), RemoveGroupMember(groupId, userId)

Every request must carry a WS-Security UsernameToken (PasswordText or PasswordDigest, OASIS
UsernameToken Profile 1.1) for the user and password given on the command line; a missing or
wrong token is a Fault `Client.Authentication`. A digest's nonce may not be used twice.

  python server.py --port 8080 --username svc --password secret [--users 25]
"""

import argparse
import base64
import hashlib
import logging
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from spyne import (Application, Boolean, ComplexModel, Fault, Integer, Iterable, ServiceBase,
                   Unicode, rpc)
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

TNS = "urn:wsc:directory"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"


class User(ComplexModel):
    __namespace__ = TNS
    _type_info = [
        ("id", Unicode),
        ("userName", Unicode),
        ("email", Unicode),
        ("givenName", Unicode),
        ("familyName", Unicode),
        ("active", Boolean),
        ("groups", Iterable(Unicode)),
    ]


class UserPage(ComplexModel):
    __namespace__ = TNS
    _type_info = [("total", Integer), ("offset", Integer), ("users", Iterable(User))]


class Group(ComplexModel):
    __namespace__ = TNS
    _type_info = [("id", Unicode), ("name", Unicode), ("members", Iterable(Unicode))]


STATE = {"users": {}, "groups": {}, "next": 1, "nonces": set()}
CREDENTIALS = {"username": None, "password": None}


def user_out(u):
    groups = [g["id"] for g in STATE["groups"].values() if u["id"] in g["members"]]
    return User(id=u["id"], userName=u["userName"], email=u["email"], givenName=u["givenName"],
                familyName=u["familyName"], active=u["active"], groups=groups)


def find_user(uid):
    u = STATE["users"].get(uid)
    if u is None:
        raise Fault(faultcode="Client.NotFound", faultstring=f"no user with id {uid}")
    return u


def find_group(gid):
    g = STATE["groups"].get(gid)
    if g is None:
        raise Fault(faultcode="Client.NotFound", faultstring=f"no group with id {gid}")
    return g


def seed(n):
    for i in range(1, n + 1):
        uid = f"u{i:03d}"
        STATE["users"][uid] = {"id": uid, "userName": f"user{i:03d}",
                               "email": f"user{i:03d}@example.test", "givenName": f"Given{i}",
                               "familyName": f"Family{i}", "active": i % 5 != 0}
    STATE["next"] = n + 1
    STATE["groups"]["g-admins"] = {"id": "g-admins", "name": "Admins", "members": ["u001"]}
    STATE["groups"]["g-staff"] = {"id": "g-staff", "name": "Staff & Friends",
                                  "members": [f"u{i:03d}" for i in range(1, min(n, 4) + 1)]}


def check_security(ctx):
    """The WS-Security UsernameToken of a request, checked against the configured user."""
    doc = ctx.in_document
    ns = {"wsse": WSSE, "wsu": WSU}
    token = doc.find(".//wsse:Security/wsse:UsernameToken", ns) if doc is not None else None
    if token is None:
        raise Fault(faultcode="Client.Authentication", faultstring="no WS-Security UsernameToken")
    username = token.findtext("wsse:Username", namespaces=ns)
    pw = token.find("wsse:Password", ns)
    if username != CREDENTIALS["username"] or pw is None:
        raise Fault(faultcode="Client.Authentication", faultstring="unknown user or bad password")
    kind = pw.get("Type", PROFILE + "#PasswordText")
    if kind == PROFILE + "#PasswordText":
        ok = pw.text == CREDENTIALS["password"]
    elif kind == PROFILE + "#PasswordDigest":
        nonce_b64 = token.findtext("wsse:Nonce", namespaces=ns)
        created = token.findtext("wsu:Created", namespaces=ns)
        if not nonce_b64 or not created:
            raise Fault(faultcode="Client.Authentication",
                        faultstring="a PasswordDigest needs wsse:Nonce and wsu:Created")
        if nonce_b64 in STATE["nonces"]:
            raise Fault(faultcode="Client.Authentication", faultstring="nonce used twice")
        STATE["nonces"].add(nonce_b64)
        raw = base64.b64decode(nonce_b64) + created.encode() + CREDENTIALS["password"].encode()
        ok = base64.b64encode(hashlib.sha1(raw).digest()).decode() == pw.text
    else:
        raise Fault(faultcode="Client.Authentication", faultstring=f"unknown password type {kind}")
    if not ok:
        raise Fault(faultcode="Client.Authentication", faultstring="unknown user or bad password")


class Directory(ServiceBase):
    @rpc(Integer, Integer, _returns=UserPage)
    def ListUsers(ctx, offset, limit):
        offset = offset or 0
        limit = limit or 10
        ids = sorted(STATE["users"])
        page = [user_out(STATE["users"][i]) for i in ids[offset:offset + limit]]
        return UserPage(total=len(ids), offset=offset, users=page)

    @rpc(Unicode, _returns=User)
    def GetUser(ctx, id):
        return user_out(find_user(id))

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=User)
    def CreateUser(ctx, userName, email, givenName, familyName):
        if not userName:
            raise Fault(faultcode="Client.Invalid", faultstring="userName is required")
        if any(u["userName"] == userName for u in STATE["users"].values()):
            raise Fault(faultcode="Client.Conflict", faultstring=f"userName {userName} is taken")
        uid = f"u{STATE['next']:03d}"
        STATE["next"] += 1
        STATE["users"][uid] = {"id": uid, "userName": userName, "email": email,
                               "givenName": givenName, "familyName": familyName, "active": True}
        return user_out(STATE["users"][uid])

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=User)
    def UpdateUser(ctx, id, email, givenName, familyName):
        u = find_user(id)
        for k, v in (("email", email), ("givenName", givenName), ("familyName", familyName)):
            if v is not None:
                u[k] = v
        return user_out(u)

    @rpc(Unicode, _returns=Boolean)
    def DeleteUser(ctx, id):
        find_user(id)
        del STATE["users"][id]
        for g in STATE["groups"].values():
            if id in g["members"]:
                g["members"].remove(id)
        return True

    @rpc(Unicode, _returns=User)
    def EnableUser(ctx, id):
        u = find_user(id)
        u["active"] = True
        return user_out(u)

    @rpc(Unicode, _returns=User)
    def DisableUser(ctx, id):
        u = find_user(id)
        u["active"] = False
        return user_out(u)

    @rpc(_returns=Iterable(Group))
    def ListGroups(ctx):
        for gid in sorted(STATE["groups"]):
            g = STATE["groups"][gid]
            yield Group(id=g["id"], name=g["name"], members=list(g["members"]))

    @rpc(Unicode, Unicode, _returns=Boolean)
    def AddGroupMember(ctx, groupId, userId):
        g = find_group(groupId)
        find_user(userId)
        if userId not in g["members"]:
            g["members"].append(userId)
        return True

    @rpc(Unicode, Unicode, _returns=Boolean)
    def RemoveGroupMember(ctx, groupId, userId):
        g = find_group(groupId)
        if userId in g["members"]:
            g["members"].remove(userId)
        return True


Directory.event_manager.add_listener("method_call", check_security)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--users", type=int, default=25)
    a = p.parse_args()
    CREDENTIALS["username"] = a.username
    CREDENTIALS["password"] = a.password
    seed(a.users)
    logging.basicConfig(level=logging.ERROR)
    # Faults are answers here, not server errors: keep spyne from logging each one.
    logging.getLogger("spyne").setLevel(logging.CRITICAL)
    app = Application([Directory], tns=TNS, in_protocol=Soap11(validator="lxml"),
                      out_protocol=Soap11())
    wsgi = WsgiApplication(app)

    def routed(environ, start_response):
        if environ.get("PATH_INFO") != "/soap":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found; the service is at /soap\n"]
        return wsgi(environ, start_response)

    server = make_server(a.host, a.port, routed, handler_class=QuietHandler)
    print(f"listening on http://{a.host}:{server.server_port}/soap", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
