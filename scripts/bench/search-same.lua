-- A search nobody asked before, asked by every connection at once: a new one every 32
-- requests (as many as `make bench-mixed` keeps in flight), so each is cold and asked 32 times
-- while it is computed. One request computes it; the others wait for its result.
local words = { "river", "night", "garden", "stone", "winter", "silver", "shadow", "glass",
    "empire", "storm", "harbor", "lantern", "mountain", "forest", "letter", "secret", "island",
    "machine", "summer", "paper", "kingdom", "ocean", "thunder", "crown", "voyage", "mirror",
    "orchard", "falcon", "ember", "compass", "tower", "valley", "desert", "meadow", "signal",
    "archive", "bridge", "candle" }
local asked, q = 0, nil

request = function()
    if asked % 32 == 0 then
        q = words[math.random(#words)] .. "+" .. math.random(1, 100000)
    end
    asked = asked + 1
    return wrk.format("GET", "/opds/search?q=" .. q)
end
