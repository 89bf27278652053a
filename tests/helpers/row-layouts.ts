// The kept-row layouts the attention-on-rows tests share: queries in 3 batch rows of 5
// positions (right padding, left padding, a hole), keys in 3 rows of 4.
import { Unpadded } from "../../src/attention/unpadded.js";
import * as T from "../../src/tensor/index.js";

export const qMask = T.intTensor([1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0], [3, 5]);
export const kMask = T.intTensor([1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1], [3, 4]);
export const qRows = Unpadded.of(qMask) as Unpadded;
export const kRows = Unpadded.of(kMask) as Unpadded;
