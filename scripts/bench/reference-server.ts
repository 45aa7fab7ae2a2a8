/**
 * The benchmark's reference: bare Fastify routes doing the work no implementation on this stack
 * can skip — the same JWT verification (the service's own JwtTokenService), the same TypeBox
 * schemas and validator for input and output, the same argon2id parameters for login — with
 * the data kept in memory instead of a database, and no logging. Its throughput is the ceiling
 * the real service is measured against.
 *
 *   node dist/scripts/bench/reference-server.js   (PORT, JWT_SECRET, ACCESS_TOKEN_TTL from env)
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { LoginBody, TokenPairDto } from '../../src/adapters/http/schemas/auth-schemas.js';
import { RegisterBody, UserDto } from '../../src/adapters/http/schemas/user-schemas.js';
import { schemaCompiler, trimStrings } from '../../src/adapters/http/validation.js';
import { OWASP_ARGON2ID } from '../../src/adapters/security/argon2-password-hasher.js';
import { createJwtTokenService } from '../../src/adapters/security/jwt-token-service.js';
import { referenceTaskRoutes } from './reference-tasks.js';

interface MemoryUser {
  id: number;
  username: string;
  email: string;
  name: string | null;
  role: 'user' | 'admin';
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReferencePrincipal {
  userId: number;
  sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: ReferencePrincipal | null;
  }
}

const port = Number(process.env.PORT ?? 3299);
const tokens = await createJwtTokenService({
  secret: process.env.JWT_SECRET ?? '',
  issuer: process.env.JWT_ISSUER ?? 'taskforge',
  audience: process.env.JWT_AUDIENCE ?? 'taskforge-api',
  accessTokenTtlSeconds: Number(process.env.ACCESS_TOKEN_TTL ?? 900),
  refreshTokenTtlSeconds: 30 * 86_400,
});

const users = new Map<number, MemoryUser>();
const byLogin = new Map<string, MemoryUser>();
/** Live sessions, so a token is checked against revocation state just as the service does. */
const sessions = new Map<string, { userId: number; refreshDigest: string }>();
let nextUserId = 1;
/** Personal access tokens by their SHA-256, as the service stores them. */
const personalTokens = new Map<string, { userId: number; sessionId: string }>();
const digestOf = (token: string) => createHash('sha256').update(token).digest('hex');

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } }).withTypeProvider<TypeBoxTypeProvider>();
app.setValidatorCompiler(schemaCompiler);
app.decorateRequest('caller', null);
app.addHook('preValidation', async (request) => {
  trimStrings(request.body);
});

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const unauthorized = (reply: FastifyReply) =>
  reply.code(401).header('www-authenticate', 'Bearer').type('application/problem+json').send({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'invalid token' });

export async function authenticated(request: FastifyRequest, reply: FastifyReply) {
  const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
  const claims = token?.startsWith('tfp_') ? (personalTokens.get(digestOf(token)) ?? null) : token ? tokens.verifyAccessToken(token) : null;
  const session = claims && sessions.get(claims.sessionId);
  if (!claims || !session || session.userId !== claims.userId || !users.has(claims.userId)) return unauthorized(reply);
  request.caller = { userId: claims.userId, sessionId: claims.sessionId };
}

const toUserDto = (user: MemoryUser) => ({
  id: user.id,
  username: user.username,
  email: user.email,
  name: user.name,
  role: user.role,
  created_at: user.createdAt,
  updated_at: user.updatedAt,
});

app.get('/health', async () => ({ status: 'ok' }));

app.post('/register', { schema: { body: RegisterBody, response: { 201: UserDto } } }, async (request, reply) => {
  const { username, email, password, name } = request.body;
  if (byLogin.has(username.toLowerCase()) || byLogin.has(email.toLowerCase())) throw Object.assign(new Error('username or email taken'), { statusCode: 409 });
  const now = new Date().toISOString();
  const user: MemoryUser = {
    id: nextUserId++,
    username,
    email,
    name: name ?? null,
    role: 'user',
    passwordHash: await argon2.hash(password, { type: argon2.argon2id, ...OWASP_ARGON2ID }),
    createdAt: now,
    updatedAt: now,
  };
  users.set(user.id, user);
  byLogin.set(username.toLowerCase(), user);
  byLogin.set(email.toLowerCase(), user);
  return reply.code(201).header('location', `/users/${user.id}`).send(toUserDto(user));
});

app.post('/login', { schema: { body: LoginBody, response: { 200: TokenPairDto } } }, async (request, reply) => {
  const user = byLogin.get(request.body.username.toLowerCase());
  const matches = user ? await argon2.verify(user.passwordHash, request.body.password) : false;
  if (!user || !matches) return unauthorized(reply);
  const sessionId = randomUUID();
  const refresh = tokens.newRefreshToken();
  sessions.set(sessionId, { userId: user.id, refreshDigest: refresh.digest });
  const access = tokens.issueAccessToken({ userId: user.id, sessionId, scopes: ['tasks:read', 'tasks:write', 'profile'] });
  return { access_token: access.token, token_type: 'bearer' as const, expires_in: access.expiresIn, refresh_token: refresh.token, scope: 'tasks:read tasks:write profile' };
});

app.post('/me/tokens', { onRequest: authenticated }, async (request, reply) => {
  const token = `tfp_${randomBytes(32).toString('base64url')}`;
  personalTokens.set(digestOf(token), { userId: request.caller!.userId, sessionId: request.caller!.sessionId });
  return reply.code(201).send({ token });
});

app.get('/me', { onRequest: authenticated, schema: { response: { 200: UserDto } } }, async (request) => toUserDto(users.get(request.caller!.userId)!));

await app.register(referenceTaskRoutes, { authenticated, cursorSecret: process.env.JWT_SECRET ?? '' });

await app.listen({ port, host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
