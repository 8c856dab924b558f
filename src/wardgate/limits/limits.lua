-- Wardgate limit store: every check-and-update in one atomic script, on Redis server time.
-- ARGV[1] = op (admit | settle | renew | raise), ARGV[2] = key prefix, ARGV[3] = JSON payload.
-- Counters are stored exactly (Redis keeps 17 digits); JSON replies carry 14 significant digits.
-- Semantics match wardgate/limits/store.py (MemoryLimitStore); see its docstring.
local op, prefix = ARGV[1], ARGV[2]
local req = cjson.decode(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local KEEP = 172800  -- period counters outlive their period by two days

-- Howard Hinnant's civil-date algorithms (proleptic Gregorian, UTC)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m
end

local function bounds(p)
  local days = math.floor(now / 86400)
  if p == 'day' then return days * 86400, (days + 1) * 86400 end
  if p == 'week' then
    local mon = days - ((days + 3) % 7)
    return mon * 86400, (mon + 7) * 86400
  end
  if p == 'month' then
    local y, m = civil_from_days(days)
    local ny, nm = y, m + 1
    if nm > 12 then nm = 1; ny = y + 1 end
    return days_from_civil(y, m, 1) * 86400, days_from_civil(ny, nm, 1) * 86400
  end
  return 0, 0
end

local function refill(key, cap, per)
  local h = redis.call('HMGET', key, 'tok', 'ts')
  local tok, ts = tonumber(h[1]), tonumber(h[2])
  local rate = cap / per
  if tok == nil then return cap, rate end
  return math.min(cap, tok + math.max(0, now - ts) * rate), rate
end

local function expire(key, c, pe)
  local ks = {key, key .. ':r', key .. ':e'}
  for _, k in ipairs(ks) do
    if c.p ~= 'none' then
      redis.call('PEXPIREAT', k, math.floor((pe + KEEP) * 1000))
    else
      redis.call('PEXPIRE', k, math.floor(math.max(c.idle, req.ttl * 2) * 1000))
    end
  end
end

if op == 'admit' then
  local st, keys, need = {}, {}, {}
  for i, c in ipairs(req.checks) do
    if c.t == 'b' then
      local key = prefix .. 'b:' .. c.k
      local tok, rate = refill(key, c.cap, c.per)
      st[i] = {tok = tok, rate = rate}
      keys[i] = c.k
    else
      local ps, pe = bounds(c.p)
      local name = c.k
      if c.p ~= 'none' then name = name .. ':' .. ps end
      local key = prefix .. 'q:' .. name
      local expired = redis.call('ZRANGEBYSCORE', key .. ':e', '-inf', now)
      local rsv = tonumber(redis.call('HGET', key, 'rsv') or '0')
      for _, id in ipairs(expired) do
        rsv = rsv - tonumber(redis.call('HGET', key .. ':r', id) or '0')
        redis.call('HDEL', key .. ':r', id)
        redis.call('ZREM', key .. ':e', id)
      end
      if #expired > 0 then redis.call('HSET', key, 'rsv', rsv) end
      local used = tonumber(redis.call('HGET', key, 'used') or '')
      if used == nil then
        local init = req.init and req.init[tostring(i - 1)]
        if init ~= nil then
          used = init
          redis.call('HSET', key, 'used', init)
        elseif c.led then
          need[#need + 1] = {i - 1, ps}
        else
          used = 0
        end
      end
      st[i] = {key = key, used = used, rsv = rsv, ps = ps, pe = pe}
      keys[i] = name
    end
  end
  if #need > 0 then return cjson.encode({need = need, now = now, keys = keys}) end
  local rem, resets, failed, retry = {}, {}, -1, 0
  for i, c in ipairs(req.checks) do
    local s = st[i]
    if c.t == 'b' then
      local left = s.tok - c.amt
      if left < 0 and failed < 0 then
        failed = i - 1
        if c.amt > c.cap then retry = -1 else retry = (c.amt - s.tok) / s.rate end
      end
      rem[i] = left
      resets[i] = now + math.max(0, c.cap - left) / s.rate
    else
      local left = c.lim - s.used - s.rsv - c.amt
      if left < 0 and failed < 0 then
        failed = i - 1
        if c.amt > c.lim then retry = -1 elseif c.p ~= 'none' then retry = s.pe - now else retry = 1 end
      end
      rem[i] = left
      resets[i] = s.pe
    end
  end
  if failed >= 0 then
    return cjson.encode({ok = false, now = now, rem = rem, resets = resets, keys = keys, failed = failed, retry = retry})
  end
  for i, c in ipairs(req.checks) do
    local s = st[i]
    if c.t == 'b' then
      local key = prefix .. 'b:' .. c.k
      redis.call('HSET', key, 'tok', s.tok - c.amt, 'ts', now)
      redis.call('PEXPIRE', key, math.floor(c.per * 2000))
    else
      if c.amt > 0 then
        redis.call('HSET', s.key, 'rsv', s.rsv + c.amt)
        redis.call('HSET', s.key .. ':r', req.lease, c.amt)
        redis.call('ZADD', s.key .. ':e', now + req.ttl, req.lease)
      end
      expire(s.key, c, s.pe)
    end
  end
  return cjson.encode({ok = true, now = now, rem = rem, resets = resets, keys = keys})
end

if op == 'settle' then
  -- req.batch: the settlements of several requests, applied in order in one call
  local all = {}
  for _, one in ipairs(req.batch) do
  local out = {}
  local lease = one.lease
  for _, it in ipairs(one.items) do
    if it.t == 'b' then
      local key = prefix .. 'b:' .. it.k
      local tok = refill(key, it.cap, it.per)
      redis.call('HSET', key, 'tok', math.min(it.cap, tok + it.rsv - it.act), 'ts', now)
      redis.call('PEXPIRE', key, math.floor(it.per * 2000))
    else
      local key = prefix .. 'q:' .. it.k
      local held = redis.call('HGET', key .. ':r', lease)
      if held then
        local rsv = tonumber(redis.call('HGET', key, 'rsv') or '0') - tonumber(held)
        redis.call('HSET', key, 'rsv', rsv)
        redis.call('HDEL', key .. ':r', lease)
        redis.call('ZREM', key .. ':e', lease)
      end
      local used = redis.call('HGET', key, 'used')
      local before = tonumber(used or '0')
      -- a spend counter that is gone (Redis restarted) is not recreated here: the next
      -- admission seeds it from the ledger, which holds this request's row
      if used or not it.led then
        redis.call('HSET', key, 'used', before + it.act)
        if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, KEEP * 1000) end
      end
      -- as strings: cjson keeps 14 digits, a nano-dollar counter may need more
      out[#out + 1] = {it.k, string.format('%.0f', before), string.format('%.0f', before + it.act)}
    end
  end
  all[#all + 1] = out
  end
  return cjson.encode(all)
end

if op == 'renew' then
  local keep = math.floor(req.ttl * 2000)
  for _, k in ipairs(req.keys) do
    local key = prefix .. 'q:' .. k
    redis.call('ZADD', key .. ':e', 'XX', now + req.ttl, req.lease)
    -- a counter held by a running request outlives it (concurrency, sessions)
    for _, kk in ipairs({key, key .. ':r', key .. ':e'}) do
      local left = redis.call('PTTL', kk)
      if left >= 0 and left < keep then redis.call('PEXPIRE', kk, keep) end
    end
  end
  return '[]'
end

if op == 'raise' then
  local key = prefix .. 'q:' .. req.k
  local used = tonumber(redis.call('HGET', key, 'used') or '')
  if used ~= nil and used < req.used then
    redis.call('HSET', key, 'used', req.used)
  end
  return '[]'
end

return redis.error_reply('unknown op')
