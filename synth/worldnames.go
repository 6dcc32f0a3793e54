package synth

// Name tables of the world profile's communities, written for this package
// from general knowledge of naming in each community (no list was copied).
// Weights are rough shares within the community: for family names they
// follow the published shape of each country's surname distribution —
// Nguyen near two in five Vietnamese, Kim about one Korean in five and Lee
// one in seven, Wang, Li and Zhang each near 7% of Chinese, Patel far ahead
// among Gujarati Americans — and for given names the head of a popularity
// list. "|" separates the spellings of one name, the first the commonest:
// a record picks one of them (transliteration, romanization), and the
// matcher is never shown which.

// hispanicFamily are Spanish family names; the particle names ("De la
// Cruz") are written as their bearers write them.
var hispanicFamily = `García 100; Rodríguez 90; Martínez 85; Hernández 85; López 80;
González 80; Pérez 60; Sánchez 55; Ramírez 50; Torres 40; Flores 40; Rivera 40;
Gómez 35; Díaz 35; Cruz 30; Morales 30; Reyes 30; Gutiérrez 28; Ortiz 28;
Ramos 26; Castillo 24; Jiménez 24; Vásquez|Vázquez 22; Romero 22; Mendoza 22;
Ruiz 20; Álvarez 20; Chávez 20; Herrera 18; Medina 18; Aguilar 18; Vargas 16;
Castro 16; Guzmán 14; Salazar 12; Ortega 12; Delgado 12; Soto 12; Contreras 10;
Espinoza 10; Sandoval 9; Navarro 9; Cabrera 8; Fuentes 8; Cervantes 7;
De la Cruz 8; De León 6; De la Rosa 5; Del Río 4; De Jesús 5; De los Santos 4`

var hispanicMale = `José 100; Juan 80; Luis 60; Carlos 55; Jesús 40; Miguel 40;
Francisco 38; Jorge 35; Antonio 35; Alejandro 30; Manuel 30; Pedro 25;
Ricardo 22; Fernando 22; Javier 22; Eduardo 20; Roberto 20; Daniel 20;
Diego 18; Andrés 15; Alberto 15; Rafael 15; Sergio 14; Raúl 12; Héctor 12;
Mario 12; Óscar 10; Arturo 10; Enrique 10; Santiago 10; Mateo 8; Pablo 8`

var hispanicFemale = `María 140; Ana 50; Rosa 30; Guadalupe 28; Carmen 26;
Lucía 24; Alejandra 22; Fernanda 20; Gabriela 22; Daniela 22; Sofía 22;
Isabel 18; Patricia 18; Adriana 16; Verónica 15; Claudia 15; Elena 14;
Teresa 14; Juana 12; Marisol 10; Yesenia 10; Leticia 10; Valeria 12;
Natalia 10; Paola 10; Mónica 10; Silvia 9; Beatriz 8; Ximena 8; Camila 12`

// hispanicSecond are the second given names of compound given names, by
// the first ("María José", "José Antonio").
var hispanicSecond = map[string][]string{
	"María":  {"José", "Lucía", "Alejandra", "Fernanda", "Isabel", "Elena", "Guadalupe", "Teresa", "Luisa", "Del Carmen", "Dolores", "Paz"},
	"Ana":    {"María", "Sofía", "Lucía", "Isabel", "Paula"},
	"José":   {"Antonio", "Alberto", "Luis", "Manuel", "Miguel", "Carlos", "Ángel", "Juan"},
	"Juan":   {"Carlos", "Pablo", "José", "Manuel", "Antonio", "Diego"},
	"Luis":   {"Miguel", "Fernando", "Alberto", "Ángel", "Enrique"},
	"Carlos": {"Alberto", "Eduardo", "Andrés"},
	"Rosa":   {"María", "Elena", "Isela"},
}

var vietnameseFamily = `Nguyễn 380; Trần 110; Lê 95; Phạm 70;
Huỳnh 50; Hoàng 30; Phan 45; Vũ 20; Võ 20; Đặng 20;
Bùi 20; Đỗ 15; Hồ 13; Ngô 13; Dương 10; Lý 5;
Trương 10; Lâm 8; Đinh 8; Mai 5; Cao 5; Lưu 4`

var vietnameseMale = `Minh 60; Đức 40; Hùng 40; Tuấn 40; Anh 35;
Long 30; Nam 30; Huy 30; Thanh 28; Quang 25; Khoa 20; Bảo 20; Phúc 18;
Dũng 18; Hải 18; Sơn 15; Thắng 12; Vinh 12; Khánh 12`

var vietnameseFemale = `Linh 50; Lan 40; Mai 40; Hương 35; Thảo 30;
Trang 30; Ngọc 30; Hoa 25; My 25; Thu 22; Hạnh 20; Anh 20; Hằng 18;
Nhung 15; Phương 15; Vy 15; Yến 12; Hà 12; Thủy 12`

var chineseFamily = `Wang|Wong 73; Li|Lee 72; Zhang|Chang|Cheung 69; Liu|Lau 54;
Chen|Chan 46; Yang|Yeung 31; Huang|Wong 22; Zhao|Chao 22; Wu|Ng 20; Zhou|Chow 19;
Xu|Hsu|Tsui 16; Sun 15; Ma 15; Zhu|Chu 13; Hu|Woo 13; Guo|Kuo 12; He|Ho 12;
Lin|Lam 12; Luo|Law 10; Gao|Kao 10; Zheng|Cheng 10; Liang|Leung 9; Xie|Tse 8`

// chineseGiven are two-syllable given names: a record writes them joined
// ("Xiaoming"), hyphenated or as two words.
var chineseMale = `Wei 40; Jun 25; Hao 20; Xiao Ming 20; Jian Guo 15; Zhi Wei 15;
Yong 15; Lei 15; Jie 15; Tao 12; Ming 12; Bo 10; Jia Hao 12; Zi Xuan 10; Yu Xuan 10;
Hong Wei 10; Chen 8; Kai 8`

var chineseFemale = `Jing 30; Li Na 25; Xiu Ying 20; Yan 20; Mei Ling 18; Fang 18;
Xin Yi 15; Yu Tong 15; Hui 15; Ying 15; Xiao Hong 12; Na 12; Min 12; Ling 12;
Jia Yi 10; Qian 10; Shu Fen 8; Wen 8`

var koreanFamily = `Kim|Gim 215; Lee|Yi|Rhee 147; Park|Pak|Bak 84; Choi|Choe 47;
Jung|Jeong|Chung 44; Kang 23; Cho|Jo 21; Yoon|Yun 21; Jang|Chang 20; Lim|Im 17;
Han 15; Oh 15; Seo|Suh 14; Shin|Sin 14; Kwon|Gwon 14; Hwang 14; Ahn|An 13;
Song 13; Yoo|Yu 12; Hong 11`

var koreanMale = `Min Jun 25; Ji Hoon 22; Hyun Woo 20; Sung Min 18; Jae Hyun 18;
Dong Hyun 16; Joon Ho 15; Young Ho 15; Sang Woo 14; Seung Hyun 14; Tae Yang 10;
Jin Woo 12; Kyung Soo 10; Jun Seo 10`

var koreanFemale = `Seo Yeon 25; Ji Yeon 22; Min Ji 20; Su Jin 20; Eun Ji 18;
Hye Jin 16; Ji Won 16; Yu Na 14; Mi Kyung 14; Soo Young 14; Ha Eun 12; Ji Woo 12;
Eun Young 12; Young Hee 10`

// eastAsianEnglish are the English names adopted beside a birth name.
var eastAsianEnglishMale = `Kevin 20; David 20; Michael 18; Eric 18; Jason 16; Daniel 16;
Peter 14; Andrew 14; Tony 12; Steven 12; James 10; Henry 10; Vincent 10; Jimmy 8`

var eastAsianEnglishFemale = `Jenny 20; Nancy 18; Grace 18; Jessica 16; Amy 16; Linda 14;
Helen 14; Vivian 12; Tina 12; Annie 12; Christine 10; Cindy 10; Emily 10; Lily 10`

var westAfricanFamily = `Mensah 30; Owusu 25; Boateng 20; Asante 18; Osei 18; Appiah 15;
Adeyemi 20; Okafor 20; Okonkwo 15; Adebayo 15; Ogunleye 10; Oladipo 10; Nwosu 12;
Eze 15; Obi 12; Okeke 14; Balogun 10; Adeleke 10; Afolabi 10; Danso 10; Ibe 8;
Uche 6; Chukwu 12; Ojo 12; Bello 10; Adewale 8; Onyeka 6; Agyeman 8; Amoah 8`

// The native given names carry their short form after a "/"
// ("Temitope/Tope"): the form friends, and sometimes clerks, use.
var westAfricanMale = `Oluwaseun/Seun 20; Babatunde/Tunde 18; Adebayo/Bayo 15;
Olumide/Mide 10; Chukwuemeka/Emeka 18; Chinedu/Nedu 12; Obinna 12; Kwame 15;
Kofi 15; Kwabena 8; Oluwafemi/Femi 14; Olusegun/Segun 12; Ayodele/Ayo 10;
Ikechukwu/Ike 10; Oluwatobi/Tobi 10; Kwaku 8; Yaw 8; Abiodun/Biodun 8`

var westAfricanFemale = `Temitope/Tope 18; Olufunmilayo/Funmi 14; Oluwakemi/Kemi 14;
Titilayo/Titi 12; Adaeze/Ada 12; Chiamaka/Amaka 14; Ngozi 14; Nkechi 12;
Abena 12; Akosua 10; Folasade/Sade 12; Omotola/Tola 10; Oluwabunmi/Bunmi 8;
Yetunde/Yetty 10; Chioma 14; Ama 10; Efua 6; Adwoa 8`

// westAfricanChristian are the English (church) names given beside the
// native one, as first or second given name.
var westAfricanChristianMale = `Emmanuel 20; Samuel 18; David 16; Daniel 16; Victor 12;
Michael 14; Joseph 14; Godwin 8; Stephen 10; Prince 8; Isaac 10; Benjamin 8`

var westAfricanChristianFemale = `Joy 18; Grace 20; Blessing 16; Peace 10; Esther 14;
Mary 14; Comfort 10; Patience 10; Gloria 8; Faith 12; Deborah 10; Ruth 10`

var arabicFamily = `Ali 60; Mohamed|Mohammed|Muhammad 55; Ahmed|Ahmad 50;
Hassan|Hasan 40; Hussein|Hussain|Husain 35; Abdi 30; Omar|Umar 25; Ibrahim 25;
Yusuf|Youssef|Yousef 20; Abdullah|Abdallah 20; Mahmoud|Mahmud 18; Khan 30;
Saleh|Salih 14; Haddad 12; Nasser|Nasir 12; Farah 15; Warsame 8; Jama 10;
Osman|Othman|Usman 12; Aden 10; Mustafa|Mostafa 12; Abdulrahman|Abdirahman 10`

var arabicMale = `Mohammed|Muhammad|Mohamed|Mohammad 150; Ahmed|Ahmad 50; Ali 40;
Omar|Umar 30; Hassan|Hasan 28; Hussein|Hussain 22; Abdullah|Abdallah 22;
Yusuf|Youssef|Yousef 20; Ibrahim 18; Khalid|Khaled 16; Mustafa|Mostafa 15;
Mahmoud|Mahmud 14; Abdirahman|Abdulrahman|Abdul Rahman 12; Abdi 12; Hamza 12;
Bilal 10; Tariq|Tarek 10; Karim|Kareem 10; Said|Saeed 10; Imran 8`

var arabicFemale = `Fatima|Fatimah|Fatuma 60; Aisha|Aysha|Ayesha 40; Maryam|Mariam 35;
Amina|Aminah 30; Khadija|Khadijah 25; Zainab|Zaynab 22; Hawa 15; Sara|Sarah 20;
Layla|Leila|Laila 18; Noor|Nur 15; Hodan 10; Fadumo 10; Asha 12; Yasmin|Yasmeen 12;
Halima|Halimo 12; Safiya|Safia 10; Nadia 10; Rania 8`

var southAsianFamily = `Patel 150; Shah 40; Singh 50; Kumar 35; Sharma 25; Desai 15;
Mehta 15; Reddy 15; Rao 12; Gupta 15; Joshi 10; Iyer 8; Chaudhary|Choudhury 10;
Das 10; Nair 8; Pillai 6; Bhatt 8; Verma 8; Malhotra 6; Kapoor 6`

var southAsianMale = `Raj 20; Amit 20; Rahul 18; Sanjay 16; Vijay 16; Arjun 14; Ravi 16;
Suresh 14; Anil 14; Rajesh 16; Harpreet 8; Gurpreet 8; Deepak 12; Manish 10;
Nikhil 10; Rohan 10; Vikram 10; Krishna 8`

var southAsianFemale = `Priya 20; Anjali 16; Pooja 16; Neha 16; Sunita 12; Kavita 12;
Deepa 10; Lakshmi 10; Meera 10; Divya 12; Shreya 10; Nisha 10; Rekha 8; Sangeeta 8;
Asha 8; Jaspreet 6`
