-- A search nobody asked before at every request (a title word and a number prefix, from
-- 38 × 100,000 pairs): what the catalog's kept pages cannot answer.
local words = { "river", "night", "garden", "stone", "winter", "silver", "shadow", "glass",
    "empire", "storm", "harbor", "lantern", "mountain", "forest", "letter", "secret", "island",
    "machine", "summer", "paper", "kingdom", "ocean", "thunder", "crown", "voyage", "mirror",
    "orchard", "falcon", "ember", "compass", "tower", "valley", "desert", "meadow", "signal",
    "archive", "bridge", "candle" }

request = function()
    local q = words[math.random(#words)] .. "+" .. math.random(1, 100000)
    return wrk.format("GET", "/opds/search?q=" .. q)
end
