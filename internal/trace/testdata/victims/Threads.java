// A multi-threaded JVM program; exits with status 6.
public class Threads {
    public static void main(String[] args) throws Exception {
        Thread[] ts = new Thread[4];
        long[] r = new long[4];
        for (int i = 0; i < 4; i++) {
            final int k = i;
            ts[i] = new Thread(() -> { long s = 0; for (int j = 0; j < 1000000 * (k + 1); j++) s += j ^ k; r[k] = s; });
            ts[i].start();
        }
        for (Thread t : ts) t.join();
        for (long x : r) System.out.println(x);
        System.exit(6);
    }
}
