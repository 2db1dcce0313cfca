# Differential-test peer: RubyGems' Gem::Version#<=>.
# Reads "A<TAB>B" lines on stdin, writes "<", "=", ">" or "E reason".
require "rubygems"

$stdin.each_line do |line|
  a, b = line.chomp("\n").split("\t", 2)
  next if b.nil?
  begin
    r = Gem::Version.new(a) <=> Gem::Version.new(b)
    puts(r.negative? ? "<" : r.positive? ? ">" : "=")
  rescue ArgumentError => e
    puts "E #{e.message.tr("\n", " ")}"
  end
end
