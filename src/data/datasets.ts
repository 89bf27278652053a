// The datasets `maskwise data get` knows: where each file is published, how it is packed, and the
// SHA-256 of the file maskwise keeps (after unpacking), so a download is checked byte for byte.
// Tatoeba's export changes as sentences are added; its checksum pins the version maskwise was
// tested with, and a newer file is reported rather than used silently.

export interface DatasetFile {
  /** The file name in the cache folder. */
  name: string;
  /** Where it is published. */
  url: string;
  /** "gzip": url is name.gz; "zip": url is an archive holding `entry`; "plain": as is. */
  packing: "plain" | "gzip" | "zip";
  /** The file to take out of a zip archive. */
  entry?: string;
  sha256: string;
}

export interface Dataset {
  name: string;
  description: string;
  licence: string;
  files: DatasetFile[];
}

const M30K = "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw";
const m30k = (name: string, sha256: string): DatasetFile => ({
  name,
  url: `${M30K}/${name}.gz`,
  packing: "gzip",
  sha256,
});
const DSUM = "https://raw.githubusercontent.com/cylnlp/dialogsum/main/DialogSum_Data";

export const DATASETS: readonly Dataset[] = [
  {
    name: "multi30k",
    description: "Multi30k task 1, English-German image descriptions, aligned by line",
    licence: "Flickr30K terms: non-commercial research and education",
    files: [
      m30k("train.de", "2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72"),
      m30k("train.en", "460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6"),
      m30k("val.de", "660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660"),
      m30k("val.en", "1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227"),
      m30k(
        "test_2016_flickr.de",
        "4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16",
      ),
      m30k(
        "test_2016_flickr.en",
        "399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182",
      ),
      m30k(
        "test_2017_flickr.de",
        "c3078bc3b36808bf9d20eb2347ed6137016179ef59ec0d2b9b8ecc3fb2880081",
      ),
      m30k(
        "test_2017_flickr.en",
        "ce1450ddc5ab0834502579d77a170849952e15a2938b34cc503bdc25ebb4fb98",
      ),
      m30k(
        "test_2018_flickr.de",
        "39fcc8b3331d76fb42d648d019c6898b0d5e58baac87bc2a0bb93f44ec8db207",
      ),
      m30k(
        "test_2018_flickr.en",
        "4e585c2dd525911a6ea7730e9d0b516239af3f1b1ffae6a2130223cfb639f25e",
      ),
    ],
  },
  {
    name: "tatoeba-zh",
    description: "Tatoeba English-Chinese pairs (TSV: English, Chinese, attribution)",
    licence: "CC-BY 2.0 FR, attribution per line",
    files: [
      {
        name: "cmn.txt",
        url: "https://www.manythings.org/anki/cmn-eng.zip",
        packing: "zip",
        entry: "cmn.txt",
        sha256: "aa264a2447b26ab7c9d413f8321f9e2a779fd134b5118306b6e26a3499b3926e",
      },
    ],
  },
  {
    name: "dialogsum",
    description: "DialogSum dialogue summarization, JSON lines",
    licence: "CC BY-NC-SA 4.0",
    files: [
      {
        name: "dialogsum.train.jsonl",
        url: `${DSUM}/dialogsum.train.jsonl`,
        packing: "plain",
        sha256: "d223076c574192da82e8e56847b255e627196e2e7def9ed2b193cfb8e4940cba",
      },
      {
        name: "dialogsum.dev.jsonl",
        url: `${DSUM}/dialogsum.dev.jsonl`,
        packing: "plain",
        sha256: "436721e0a3571eef7072964f80e042fb151d8c6178db1a688ce8f803bbf0a13f",
      },
      {
        name: "dialogsum.test.jsonl",
        url: `${DSUM}/dialogsum.test.jsonl`,
        packing: "plain",
        sha256: "6de36eca7e7b9b10975fd5ea3f47391df172d8b3c15d03d84d763cbaab015fda",
      },
    ],
  },
];

export function findDataset(name: string): Dataset | undefined {
  return DATASETS.find((d) => d.name === name);
}

/** The URL to fetch: the published one, or the same path under a mirror (a local server). */
export function fileUrl(file: DatasetFile, mirror?: string): string {
  if (!mirror) return file.url;
  const u = new URL(file.url);
  return `${mirror.replace(/\/+$/, "")}${u.pathname}`;
}
