<?php
// Differential-test peer: Composer's VersionParser::normalize on both versions, then
// PHP's version_compare, as Composer compares normalised versions. Branch versions
// ("dev-..."), which have no order, are reported as errors.
// Reads "A<TAB>B" lines on stdin, writes "<", "=", ">" or "E reason".
require '/usr/share/php/Composer/Semver/autoload.php';

use Composer\Semver\VersionParser;

$parser = new VersionParser();
while (($line = fgets(STDIN)) !== false) {
    $parts = explode("\t", rtrim($line, "\n"), 2);
    if (count($parts) !== 2) {
        continue;
    }
    try {
        $a = $parser->normalize($parts[0]);
        $b = $parser->normalize($parts[1]);
    } catch (UnexpectedValueException $e) {
        echo "E ", str_replace("\n", " ", $e->getMessage()), "\n";
        continue;
    }
    if (strncmp($a, 'dev-', 4) === 0 || strncmp($b, 'dev-', 4) === 0
        || substr($a, -4) === '-dev' && strpos($a, '9999999') !== false
        || substr($b, -4) === '-dev' && strpos($b, '9999999') !== false) {
        echo "E branch\n";
        continue;
    }
    $r = version_compare($a, $b);
    echo $r < 0 ? "<" : ($r > 0 ? ">" : "="), "\n";
}
