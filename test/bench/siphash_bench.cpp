// Throughput of the SipHash-2-4 core on 4 KiB inputs (the whole pure C++ path
// that hash_string runs after detoasting). Prints GB/s measured over ~1 second.
#include "hash/siphash.hpp"

#include <chrono>
#include <cstdio>
#include <vector>

int main() {
    std::vector<unsigned char> buf(4096);
    for (size_t i = 0; i < buf.size(); ++i)
        buf[i] = static_cast<unsigned char>(i * 31 + 1);

    using clock = std::chrono::steady_clock;
    uint64_t sink = 0;
    size_t bytes = 0;
    auto start = clock::now();
    double seconds = 0;
    do {
        for (int i = 0; i < 1000; ++i) {
            buf[0] = static_cast<unsigned char>(sink); // keep every call live
            sink ^= shardroute::hash::siphash24(buf.data(), buf.size(), 0, 0);
            bytes += buf.size();
        }
        seconds = std::chrono::duration<double>(clock::now() - start).count();
    } while (seconds < 1.0);
    std::printf("siphash24 core, 4 KiB inputs: %.2f GB/s (%zu bytes in %.2f s, checksum %016llx)\n",
                static_cast<double>(bytes) / seconds / 1e9, bytes, seconds, static_cast<unsigned long long>(sink));
    return 0;
}
