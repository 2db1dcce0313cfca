// Differential-test peer: Maven's ComparableVersion (from the maven-artifact jar Maven
// itself uses). Run as `java -cp maven-artifact.jar MavenCompare.java`.
// Reads "A<TAB>B" lines on stdin, writes "<", "=", ">".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenCompare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(System.out);
        String line;
        while ((line = in.readLine()) != null) {
            int tab = line.indexOf('\t');
            if (tab < 0) continue;
            int r = new ComparableVersion(line.substring(0, tab)).compareTo(new ComparableVersion(line.substring(tab + 1)));
            out.println(r < 0 ? "<" : r > 0 ? ">" : "=");
        }
        out.flush();
    }
}
