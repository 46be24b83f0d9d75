// A libFuzzer-compatible driver without libFuzzer: runs LLVMFuzzerTestOneInput
// once on each file named on the command line, so the fuzz target replays its
// seeds and regressions under any compiler's sanitizers (make sanitize). The
// target aborts on a failed check; a sanitizer report aborts the process.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    int replayed = 0;
    for (int i = 1; i < argc; ++i) {
        std::ifstream in(argv[i], std::ios::binary);
        if (!in) {
            std::cerr << "fuzz_replay: cannot read " << argv[i] << "\n";
            return 2;
        }
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
        ++replayed;
    }
    std::cout << "fuzz_replay: " << replayed << " inputs replayed, 0 failed\n";
    return replayed > 0 ? 0 : 2;
}
