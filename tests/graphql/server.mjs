// A GraphQL directory API for wsc's interop tests, on graphql-yoga (pinned in package.json and
// package-lock.json). Started by crates/wsc-cli/tests/graphql.rs; prints
// `GRAPHQL_URL=http://127.0.0.1:PORT/graphql` once it listens (on a free port).
//
// Users and groups as Relay-style connections (`edges { node }`, `pageInfo { endCursor
// hasNextPage }`, `totalCount`), mutations for every write, bearer token auth (a wrong or missing
// token is a GraphQL error with `extensions.code: UNAUTHENTICATED` in a 200 response, as Apollo
// style servers answer). Environment:
//
//   GQL_TOKEN   the bearer token accepted (default `gql-test-token`)
//   GQL_USERS   how many users are seeded (default 12), `usr_0001`...
//   GQL_FAULT   `partial`: the `email` field of the third user throws, so a listing that reads
//               it gets partial data and an `errors` entry with its path;
//               `lost_cursor`: pages after the first say `hasNextPage: true` with a null
//               `endCursor`; `early_end`: the first page says `hasNextPage: false` although
//               more users follow (`totalCount` stays right)
//   GQL_PORT    the port (default: a free one)

import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { GraphQLError } from 'graphql';

const TOKEN = process.env.GQL_TOKEN || 'gql-test-token';
const SEED = Number(process.env.GQL_USERS || 12);
const FAULT = process.env.GQL_FAULT || '';

const users = new Map(); // id -> { id, userName, displayName, email, active }
const groups = new Map(); // id -> { id, name, members: Set<userId> }
let nextUser = 1;
let nextGroup = 1;

const pad = (n) => String(n).padStart(4, '0');

function addUser({ userName, displayName = null, email = null, active = true }) {
  const id = `usr_${pad(nextUser++)}`;
  const u = { id, userName, displayName, email, active };
  users.set(id, u);
  return u;
}

function addGroup(name) {
  const id = `grp_${pad(nextGroup++)}`;
  const g = { id, name, members: new Set() };
  groups.set(id, g);
  return g;
}

for (let i = 1; i <= SEED; i++) {
  const n = pad(i);
  addUser({
    userName: `user${n}`,
    displayName: `User ${n}`,
    email: `user${n}@example.test`,
    active: i % 5 !== 0,
  });
}
for (const name of ['Engineering', 'Sales', 'Support']) addGroup(name);
// A few memberships: every third user is in Engineering, every fourth in Sales.
for (const u of users.values()) {
  const i = Number(u.id.slice(4));
  if (i % 3 === 0) groups.get('grp_0001').members.add(u.id);
  if (i % 4 === 0) groups.get('grp_0002').members.add(u.id);
}
const broken = FAULT === 'partial' ? 'usr_0003' : null;

function fail(message, code) {
  return new GraphQLError(message, { extensions: { code } });
}

const encode = (id) => Buffer.from(`cursor:${id}`).toString('base64');
function decode(cursor) {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  if (!text.startsWith('cursor:')) throw fail(`invalid cursor "${cursor}"`, 'BAD_USER_INPUT');
  return text.slice('cursor:'.length);
}

// One page of a connection over `items` (ordered by id), after the cursor `after`.
function connection(items, first, after) {
  if (!Number.isInteger(first) || first < 1 || first > 100) {
    throw fail(`first must be between 1 and 100, got ${first}`, 'BAD_USER_INPUT');
  }
  const all = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const start = after == null ? 0 : all.findIndex((x) => x.id > decode(after));
  const rest = start < 0 ? [] : all.slice(start);
  const page = rest.slice(0, first);
  const pageInfo = {
    endCursor: page.length ? encode(page[page.length - 1].id) : null,
    hasNextPage: rest.length > first,
  };
  if (FAULT === 'lost_cursor' && after != null && pageInfo.hasNextPage) pageInfo.endCursor = null;
  if (FAULT === 'early_end') pageInfo.hasNextPage = false;
  return {
    totalCount: all.length,
    edges: page.map((node) => ({ cursor: encode(node.id), node })),
    pageInfo,
  };
}

function user(id) {
  const u = users.get(id);
  if (!u) throw fail(`no user with id "${id}"`, 'NOT_FOUND');
  return u;
}

function group(id) {
  const g = groups.get(id);
  if (!g) throw fail(`no group with id "${id}"`, 'NOT_FOUND');
  return g;
}

const typeDefs = /* GraphQL */ `
  type Query {
    viewer: Viewer!
    users(first: Int = 20, after: String): UserConnection!
    user(id: ID!): User
    groups(first: Int = 20, after: String): GroupConnection!
    group(id: ID!): Group
  }
  type Mutation {
    createUser(input: CreateUserInput!): UserPayload!
    updateUser(id: ID!, input: UpdateUserInput!): UserPayload!
    deleteUser(id: ID!): DeleteUserPayload!
    setUserActive(id: ID!, active: Boolean!): UserPayload!
    addGroupMember(groupId: ID!, userId: ID!): GroupPayload!
    removeGroupMember(groupId: ID!, userId: ID!): GroupPayload!
  }
  type Viewer { name: String! }
  type User {
    id: ID!
    userName: String!
    displayName: String
    email: String
    active: Boolean!
    groups: [Group!]!
  }
  type Group { id: ID!, name: String!, members: [User!]! }
  type PageInfo { endCursor: String, hasNextPage: Boolean! }
  type UserEdge { cursor: String!, node: User! }
  type UserConnection { edges: [UserEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
  type GroupEdge { cursor: String!, node: Group! }
  type GroupConnection { edges: [GroupEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
  input CreateUserInput { userName: String!, displayName: String, email: String, active: Boolean }
  input UpdateUserInput { displayName: String, email: String }
  type UserPayload { user: User! }
  type DeleteUserPayload { deletedId: ID! }
  type GroupPayload { group: Group! }
`;

const query = {
  viewer: () => ({ name: 'wsc interop client' }),
  users: (_, { first, after }) => connection(users.values(), first, after),
  user: (_, { id }) => users.get(id) ?? null,
  groups: (_, { first, after }) => connection(groups.values(), first, after),
  group: (_, { id }) => groups.get(id) ?? null,
};

const mutation = {
  createUser: (_, { input }) => {
    if (!input.userName.trim()) throw fail('userName must not be empty', 'BAD_USER_INPUT');
    if ([...users.values()].some((u) => u.userName === input.userName)) {
      throw fail(`userName "${input.userName}" is taken`, 'CONFLICT');
    }
    return { user: addUser({ ...input, active: input.active ?? true }) };
  },
  updateUser: (_, { id, input }) => {
    const u = user(id);
    for (const k of ['displayName', 'email']) if (input[k] !== undefined) u[k] = input[k];
    return { user: u };
  },
  deleteUser: (_, { id }) => {
    user(id);
    users.delete(id);
    for (const g of groups.values()) g.members.delete(id);
    return { deletedId: id };
  },
  setUserActive: (_, { id, active }) => {
    const u = user(id);
    u.active = active;
    return { user: u };
  },
  addGroupMember: (_, { groupId, userId }) => {
    const g = group(groupId);
    user(userId);
    g.members.add(userId);
    return { group: g };
  },
  removeGroupMember: (_, { groupId, userId }) => {
    const g = group(groupId);
    user(userId);
    g.members.delete(userId);
    return { group: g };
  },
};

// Every root field checks the bearer token first.
function guarded(fields) {
  return Object.fromEntries(
    Object.entries(fields).map(([name, resolve]) => [
      name,
      (parent, args, ctx, info) => {
        if (ctx.request.headers.get('authorization') !== `Bearer ${TOKEN}`) {
          throw fail('missing or invalid bearer token', 'UNAUTHENTICATED');
        }
        return resolve(parent, args, ctx, info);
      },
    ]),
  );
}

const resolvers = {
  Query: guarded(query),
  Mutation: guarded(mutation),
  User: {
    email: (u) => {
      if (u.id === broken) {
        throw fail(`the mail directory timed out reading the email of ${u.id}`, 'INTERNAL_SERVER_ERROR');
      }
      return u.email;
    },
    groups: (u) => [...groups.values()].filter((g) => g.members.has(u.id)),
  },
  Group: {
    members: (g) => [...g.members].sort().map((id) => users.get(id)).filter(Boolean),
  },
};

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers }),
  graphqlEndpoint: '/graphql',
  graphiql: false,
  landingPage: false,
  logging: false,
  maskedErrors: true,
});

const server = createServer(yoga);
server.listen(Number(process.env.GQL_PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`GRAPHQL_URL=http://127.0.0.1:${port}/graphql`);
});
// The test holds our stdin: when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
