# multiprocessing and threads; deterministic output, exit status 3.
import multiprocessing
import sys
import threading


def square(x):
    return x * x


def main():
    out = []
    lock = threading.Lock()

    def work(n):
        s = sum(range(n * 1000))
        with lock:
            out.append((n, s))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    with multiprocessing.Pool(3) as pool:
        squares = pool.map(square, range(20))
    for t in threads:
        t.join()
    print(sorted(out))
    print(squares)
    sys.stdout.flush()
    sys.exit(3)


if __name__ == "__main__":
    main()
