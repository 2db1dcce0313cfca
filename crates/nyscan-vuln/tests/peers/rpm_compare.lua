-- Differential-test peer, run inside rpm's embedded Lua: `rpm --eval "%{lua: dofile(PATH)}"`.
-- rpm.vercmp parses both sides as [epoch:]version[-release] and compares them with
-- rpmvercmp, exactly as rpm does for dependencies. Reads "A<TAB>B" lines on stdin, writes
-- "<", "=", ">" or "E reason".
for line in io.lines() do
  local a, b = line:match("^([^\t]*)\t(.*)$")
  if a then
    local ok, r = pcall(rpm.vercmp, a, b)
    if not ok then
      io.write("E ", (tostring(r):gsub("\n", " ")), "\n")
    elseif r < 0 then
      io.write("<\n")
    elseif r > 0 then
      io.write(">\n")
    else
      io.write("=\n")
    end
  end
end
