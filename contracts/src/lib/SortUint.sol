// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title SortUint
/// @notice In-place quicksort of a memory `uint256[]` in ascending order. Callers
/// sort composite keys (e.g. `value << 32 | tag`) to sort records by one field.
library SortUint {
    /// @notice Sorts `values` ascending, in place.
    function sort(uint256[] memory values) internal pure {
        if (values.length > 1) _quickSort(values, 0, values.length - 1);
    }

    function _quickSort(uint256[] memory a, uint256 lo, uint256 hi) private pure {
        while (lo < hi) {
            uint256 pivot = a[lo + (hi - lo) / 2];
            uint256 i = lo;
            uint256 j = hi;
            while (true) {
                while (a[i] < pivot) ++i;
                while (a[j] > pivot) --j;
                if (i >= j) break;
                (a[i], a[j]) = (a[j], a[i]);
                ++i;
                --j;
            }
            // Hoare partition: [lo, j] <= pivot <= [j + 1, hi]. Recurse into the smaller
            // side and loop on the larger one to bound the stack depth.
            if (j - lo < hi - j) {
                _quickSort(a, lo, j);
                lo = j + 1;
            } else {
                _quickSort(a, j + 1, hi);
                hi = j;
            }
        }
    }
}
